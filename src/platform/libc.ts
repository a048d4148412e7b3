// Loading the C library through bun:ffi on Linux, with errno.
//
// bun:ffi has no errno helper, so every binding here reads errno through
// `__errno_location` (glibc and musl both export it) right after the call,
// before any other native call can overwrite it.
import { dlopen, read, type FFIFunction, type Library, type Pointer } from "bun:ffi";
import { readFileSync } from "node:fs";
import { PlatformError } from "./types.ts";

/** Linux errno numbers (the same on x86_64 and aarch64) and their names. */
export const LINUX_ERRNO: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  5: "EIO",
  6: "ENXIO",
  9: "EBADF",
  10: "ECHILD",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  16: "EBUSY",
  17: "EEXIST",
  19: "ENODEV",
  20: "ENOTDIR",
  21: "EISDIR",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  26: "ETXTBSY",
  30: "EROFS",
  35: "EDEADLK",
  36: "ENAMETOOLONG",
  37: "ENOLCK",
  38: "ENOSYS",
  40: "ELOOP",
  95: "EOPNOTSUPP",
  116: "ESTALE",
};

/**
 * Picks the C library that is already mapped into this process: glibc's
 * libc.so.6, or musl's loader, which is musl's libc. A musl build of Bun runs
 * only with musl, so opening libc.so.6 there would load a second libc.
 * `maps` is the text of /proc/self/maps; tests pass their own.
 */
export function linuxLibcPath(maps?: string): string {
  if (maps === undefined) {
    try {
      maps = readFileSync("/proc/self/maps", "utf8");
    } catch {
      return "libc.so.6";
    }
  }
  const musl = maps.match(/(\/\S*\/(?:ld-musl-[\w-]+|libc\.musl-[\w-]+)\.so\.1)\s*$/m);
  if (musl?.[1] !== undefined) return musl[1];
  const glibc = maps.match(/(\/\S*\/libc\.so\.6)\s*$/m);
  return glibc?.[1] ?? "libc.so.6";
}

/** A loaded C library plus errno access. */
export interface Libc<Symbols extends Record<string, FFIFunction>> {
  symbols: Library<Symbols>["symbols"];
  /** Current errno; call it right after the failing call. */
  errno(): number;
  errnoName(errno: number): string;
  /**
   * Builds a PlatformError from the current errno. Pass a computed path as a
   * function, so that computing it cannot overwrite errno first.
   */
  fail(syscall: string, path?: string | (() => string)): PlatformError;
}

/** Opens `path` with the given symbols plus the errno accessor. */
export function openLibc<Symbols extends Record<string, FFIFunction>>(
  path: string,
  symbols: Symbols,
  errnoSymbol: "__errno_location" | "__error",
  errnoNames: Record<number, string>,
): Libc<Symbols> {
  const library = dlopen(path, {
    ...symbols,
    [errnoSymbol]: { args: [], returns: "ptr" },
  } as Symbols & Record<string, FFIFunction>);
  const errnoFunction = library.symbols[errnoSymbol] as unknown as () => Pointer;

  // errno is thread-local and every FFI call runs on the JS thread, so its
  // address is fixed for the life of the process.
  let errnoAddress: Pointer | null = null;
  const errno = (): number => {
    errnoAddress ??= errnoFunction();
    return read.i32(errnoAddress, 0);
  };
  const errnoName = (value: number): string => errnoNames[value] ?? `errno ${value}`;

  return {
    symbols: library.symbols as Library<Symbols>["symbols"],
    errno,
    errnoName,
    fail: (syscall, path) => {
      const code = errnoName(errno());
      return new PlatformError(code, syscall, typeof path === "function" ? path() : path);
    },
  };
}

let lastName: Uint8Array | string | undefined;
let lastCString: Buffer = Buffer.alloc(1);

/**
 * NUL-terminated copy of a name for a `const char *` argument. The protocol
 * passes the same name to several calls in a row, so the last copy is reused.
 */
export function cString(name: Uint8Array | string): Buffer {
  if (name === lastName) return lastCString;

  const bytes = typeof name === "string" ? Buffer.from(name) : name;
  const copy = Buffer.allocUnsafe(bytes.length + 1);
  copy.set(bytes);
  copy[bytes.length] = 0;
  lastName = name;
  lastCString = copy;
  return copy;
}
