// Thin libSystem bindings for the macOS platform, through bun:ffi.
//
// Each call returns a DarwinResult with the errno name instead of throwing,
// read right after the failing call. The rules that turn these results into
// verdicts live in darwin.ts and run against a fake of this interface in the
// unit tests.
//
// NOTE: nothing here has run on macOS hardware. The layouts and constants
// come from the macOS SDK headers (sys/fcntl.h, sys/stat.h, sys/dirent.h,
// sys/proc_info.h, libproc.h), and the unit tests cover only the rules above
// this layer.
import { dlopen, FFIType, read, type FFIFunction, type Pointer } from "bun:ffi";
import { hostname } from "node:os";
import { readSync, writeSync, ftruncateSync } from "node:fs";
import { cString } from "./libc.ts";

export type DarwinResult<T> = { ok: true; value: T } | { ok: false; errno: string };

/** Fields of struct stat that jerrylock uses. */
export interface DarwinStat {
  mode: number;
  /** st_dev: major in the top 8 bits, minor in the low 24. */
  dev: number;
  ino: bigint;
  nlink: number;
  uid: number;
  size: number;
  mtimeMs: number;
}

/** Fields of struct proc_bsdinfo (proc_pidinfo PROC_PIDTBSDINFO) that jerrylock uses. */
export interface DarwinProcess {
  /** SIDL 1, SRUN 2, SSLEEP 3, SSTOP 4, SZOMB 5. */
  status: number;
  startSeconds: number;
  startMicroseconds: number;
  command: string;
}

/** Conflicting lock that F_GETLK reports; pid is -1 for a flock(2) lock. */
export interface DarwinLock {
  type: number;
  pid: number;
}

/** The macOS calls jerrylock makes; darwin.ts uses nothing else, so tests can fake it. */
export interface DarwinApi {
  pid(): number;
  hostname(): string;
  /** kern.bootsessionuuid, a UUID that changes at every boot; null when unreadable. */
  bootSessionUuid(): string | null;

  /** kill(pid, 0). */
  signalZero(pid: number): DarwinResult<void>;
  /** proc_pidinfo(PROC_PIDTBSDINFO); ESRCH when there is no such process. */
  processInfo(pid: number): DarwinResult<DarwinProcess>;

  /** open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), following symlinks in the path as typed. */
  openDirectory(path: string): DarwinResult<number>;
  openAt(dir: number, name: Uint8Array, flags: number, mode?: number): DarwinResult<number>;
  /** fstatat(dir, name, AT_SYMLINK_NOFOLLOW). */
  statAt(dir: number, name: Uint8Array): DarwinResult<DarwinStat>;
  fstat(fd: number): DarwinResult<DarwinStat>;
  list(dir: number): DarwinResult<Uint8Array[]>;
  /** fcntl(F_GETLK) for a write lock over the whole file; null when nothing conflicts. */
  getLock(fd: number): DarwinResult<DarwinLock | null>;
  flock(fd: number, operation: number): DarwinResult<void>;
  /** Pids that have `name` in `dir` open (proc_listpidspath), as far as this user may see. */
  pidsWithOpen(dir: number, name: Uint8Array): DarwinResult<number[]>;
  unlinkAt(dir: number, name: Uint8Array): DarwinResult<void>;
  read(fd: number, maxBytes: number): DarwinResult<Uint8Array>;
  replaceContent(fd: number, bytes: Uint8Array): DarwinResult<void>;
  close(fd: number): void;
}

// sys/fcntl.h
export const O = {
  rdonly: 0x0000,
  rdwr: 0x0002,
  nonblock: 0x0004,
  nofollow: 0x0100,
  creat: 0x0200,
  noctty: 0x2_0000,
  directory: 0x10_0000,
  cloexec: 0x100_0000,
} as const;
export const F_GETLK = 7;
export const F_GETPATH = 50;
export const F_RDLCK = 1;
export const F_UNLCK = 2;
export const F_WRLCK = 3;
export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;
const AT_SYMLINK_NOFOLLOW = 0x20;
const SEEK_SET = 0;

// sys/stat.h
export const S_IFMT = 0o170000;
export const S_IFIFO = 0o010000;
export const S_IFCHR = 0o020000;
export const S_IFDIR = 0o040000;
export const S_IFBLK = 0o060000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFSOCK = 0o140000;

/** struct proc_bsdinfo status of a zombie. */
export const SZOMB = 5;

/** macOS errno numbers (sys/errno.h) and their names. */
export const DARWIN_ERRNO: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  5: "EIO",
  6: "ENXIO",
  9: "EBADF",
  11: "EDEADLK",
  12: "ENOMEM",
  13: "EACCES",
  16: "EBUSY",
  17: "EEXIST",
  20: "ENOTDIR",
  21: "EISDIR",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  26: "ETXTBSY",
  30: "EROFS",
  35: "EAGAIN",
  45: "ENOTSUP",
  62: "ELOOP",
  63: "ENAMETOOLONG",
  70: "ESTALE",
  77: "ENOLCK",
  78: "ENOSYS",
  102: "EOPNOTSUPP",
};

/**
 * Argument lists for the variadic calls. On Apple arm64 a variadic argument
 * goes on the stack, not in a register, so binding fcntl(int, int, void *)
 * directly would pass the pointer where fcntl never looks. Six integer
 * padding arguments fill x2..x7, so the real argument becomes the first stack
 * slot, which is where va_arg reads it. On x86_64 variadic arguments use the
 * same registers as named ones, so no padding is needed there.
 * NOTE: the arm64 layout follows Apple's ABI documentation; it has not been
 * run on Apple hardware here.
 */
function variadic(arch: string, named: FFIType[], variadicArgument: FFIType): FFIType[] {
  if (arch !== "arm64") return [...named, variadicArgument];
  const padding = Array<FFIType>(8 - named.length).fill(FFIType.i64);
  return [...named, ...padding, variadicArgument];
}

function padding(arch: string, namedCount: number): number[] {
  return arch === "arm64" ? Array<number>(8 - namedCount).fill(0) : [];
}

/** Loads libSystem; call only on macOS. `arch` is "arm64" or "x64". */
export function loadDarwin(arch: string = process.arch): DarwinApi {
  // x86_64 keeps the old 32-bit-inode stat and dirent under the plain names;
  // the 64-bit-inode versions carry a $INODE64 suffix. arm64 has only those.
  const inode64 = (name: string): string => (arch === "x64" ? `${name}$INODE64` : name);

  const symbols = {
    __error: { args: [], returns: FFIType.ptr },
    kill: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    getpid: { args: [], returns: FFIType.i32 },
    open: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    openat: { args: variadic(arch, [FFIType.i32, FFIType.ptr, FFIType.i32], FFIType.u32), returns: FFIType.i32 },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
    dup: { args: [FFIType.i32], returns: FFIType.i32 },
    lseek: { args: [FFIType.i32, FFIType.i64, FFIType.i32], returns: FFIType.i64 },
    fcntl: { args: variadic(arch, [FFIType.i32, FFIType.i32], FFIType.ptr), returns: FFIType.i32 },
    flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    unlinkat: { args: [FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    [inode64("fstatat")]: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    [inode64("fstat")]: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
    [inode64("fdopendir")]: { args: [FFIType.i32], returns: FFIType.ptr },
    [inode64("readdir")]: { args: [FFIType.ptr], returns: FFIType.ptr },
    closedir: { args: [FFIType.ptr], returns: FFIType.i32 },
    proc_pidinfo: { args: [FFIType.i32, FFIType.i32, FFIType.u64, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    proc_listpidspath: { args: [FFIType.u32, FFIType.u32, FFIType.ptr, FFIType.u32, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    sysctlbyname: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.i32 },
  } satisfies Record<string, FFIFunction>;
  const library = dlopen("/usr/lib/libSystem.B.dylib", symbols);
  // The symbol table is keyed by names computed at run time, so calls go through this untyped view.
  const s = library.symbols as unknown as Record<string, (...args: unknown[]) => number | bigint | Pointer | null>;

  let errnoAddress: Pointer | null = null;
  const errnoName = (): string => {
    errnoAddress ??= s.__error!() as Pointer;
    const value = read.i32(errnoAddress, 0);
    return DARWIN_ERRNO[value] ?? `errno ${value}`;
  };
  const fail = <T>(): DarwinResult<T> => ({ ok: false, errno: errnoName() });
  const ok = <T>(value: T): DarwinResult<T> => ({ ok: true, value });
  const fcntl = (fd: number, command: number, argument: Uint8Array): number =>
    s.fcntl!(fd, command, ...padding(arch, 2), argument) as number;

  // struct stat with 64-bit inodes, 144 bytes on both architectures.
  const parseStat = (buffer: Uint8Array): DarwinStat => {
    const view = new DataView(buffer.buffer);
    return {
      dev: view.getInt32(0, true),
      mode: view.getUint16(4, true),
      nlink: view.getUint16(6, true),
      ino: view.getBigUint64(8, true),
      uid: view.getUint32(16, true),
      mtimeMs: Number(view.getBigInt64(48, true)) * 1000 + Math.floor(Number(view.getBigInt64(56, true)) / 1e6),
      size: Number(view.getBigInt64(96, true)),
    };
  };

  return {
    pid: () => s.getpid!() as number,
    hostname: () => hostname(),
    bootSessionUuid: () => {
      const buffer = new Uint8Array(64);
      const length = new BigUint64Array([BigInt(buffer.length)]);
      if (s.sysctlbyname!(cString("kern.bootsessionuuid"), buffer, length, null, 0) !== 0) return null;
      const text = Buffer.from(buffer.subarray(0, Number(length[0]))).toString("latin1").replace(/\0.*$/s, "");
      return text === "" ? null : text;
    },

    signalZero: (pid) => (s.kill!(pid, 0) === 0 ? ok(undefined) : fail()),
    processInfo: (pid) => {
      // struct proc_bsdinfo, 136 bytes: pbi_status at 4, pbi_comm[16] at 48,
      // pbi_start_tvsec at 120 and pbi_start_tvusec at 128.
      const PROC_PIDTBSDINFO = 3;
      const buffer = new Uint8Array(136);
      const size = s.proc_pidinfo!(pid, PROC_PIDTBSDINFO, 0, buffer, buffer.length) as number;
      if (size <= 0) return fail();
      if (size < buffer.length) return { ok: false, errno: "EINVAL" };
      const view = new DataView(buffer.buffer);
      const comm = buffer.subarray(48, 64);
      const end = comm.indexOf(0);
      return ok({
        status: view.getUint32(4, true),
        command: Buffer.from(comm.subarray(0, end < 0 ? comm.length : end)).toString("utf8"),
        startSeconds: Number(view.getBigUint64(120, true)),
        startMicroseconds: Number(view.getBigUint64(128, true)),
      });
    },

    openDirectory: (path) => {
      const fd = s.open!(cString(path), O.rdonly | O.directory | O.cloexec) as number;
      return fd < 0 ? fail() : ok(fd);
    },
    openAt: (dir, name, flags, mode = 0) => {
      const fd = s.openat!(dir, cString(name), flags, ...padding(arch, 3), mode) as number;
      return fd < 0 ? fail() : ok(fd);
    },
    statAt: (dir, name) => {
      const buffer = new Uint8Array(144);
      return s[inode64("fstatat")]!(dir, cString(name), buffer, AT_SYMLINK_NOFOLLOW) === 0 ? ok(parseStat(buffer)) : fail();
    },
    fstat: (fd) => {
      const buffer = new Uint8Array(144);
      return s[inode64("fstat")]!(fd, buffer) === 0 ? ok(parseStat(buffer)) : fail();
    },
    list: (dir) => {
      // fdopendir takes over the descriptor it gets, so it gets a duplicate
      // rewound to the start; the duplicate shares the offset with `dir`.
      const copy = s.dup!(dir) as number;
      if (copy < 0) return fail();
      s.lseek!(copy, 0, SEEK_SET);
      const stream = s[inode64("fdopendir")]!(copy) as Pointer | null;
      if (stream === null) {
        const failed = fail<Uint8Array[]>();
        s.close!(copy);
        return failed;
      }
      const names: Uint8Array[] = [];
      try {
        for (;;) {
          const entry = s[inode64("readdir")]!(stream) as Pointer | null;
          if (entry === null) break;
          // struct dirent with 64-bit inodes: d_namlen at 18, d_name at 21.
          const length = read.u16(entry, 18);
          const name = new Uint8Array(length);
          for (let index = 0; index < length; index += 1) name[index] = read.u8(entry, 21 + index);
          const isDot = (length === 1 && name[0] === 0x2e) || (length === 2 && name[0] === 0x2e && name[1] === 0x2e);
          if (!isDot) names.push(name);
        }
      } finally {
        s.closedir!(stream);
      }
      return ok(names);
    },
    getLock: (fd) => {
      // struct flock on macOS, 24 bytes: l_start at 0, l_len at 8, l_pid at
      // 16, l_type at 20, l_whence at 22 (Linux puts l_type first).
      const buffer = new Uint8Array(24);
      const view = new DataView(buffer.buffer);
      view.setInt16(20, F_WRLCK, true);
      view.setInt16(22, SEEK_SET, true);
      if (fcntl(fd, F_GETLK, buffer) !== 0) return fail();
      const type = view.getInt16(20, true);
      return ok(type === F_UNLCK ? null : { type, pid: view.getInt32(16, true) });
    },
    flock: (fd, operation) => (s.flock!(fd, operation) === 0 ? ok(undefined) : fail()),
    pidsWithOpen: (dir, name) => {
      // MAXPATHLEN is 1024; F_GETPATH names the directory the descriptor has open now.
      const path = new Uint8Array(1024);
      if (fcntl(dir, F_GETPATH, path) !== 0) return fail();
      const end = path.indexOf(0);
      const full = Buffer.concat([Buffer.from(path.subarray(0, end)), Buffer.from("/"), Buffer.from(name)]);
      const PROC_ALL_PIDS = 1;
      // Watchers with O_EVTONLY (Finder, Spotlight) do not count as users of the file.
      const PROC_LISTPIDSPATH_EXCLUDE_EVTONLY = 2;
      const pids = new Int32Array(4096);
      const bytes = s.proc_listpidspath!(PROC_ALL_PIDS, 0, cString(full), PROC_LISTPIDSPATH_EXCLUDE_EVTONLY, pids, pids.byteLength) as number;
      if (bytes < 0) return fail();
      return ok([...pids.subarray(0, bytes / 4)].filter((pid) => pid > 0));
    },
    unlinkAt: (dir, name) => (s.unlinkat!(dir, cString(name), 0) === 0 ? ok(undefined) : fail()),
    read: (fd, maxBytes) => {
      const buffer = new Uint8Array(maxBytes);
      try {
        let total = 0;
        for (;;) {
          const count = readSync(fd, buffer, total, maxBytes - total, null);
          if (count === 0 || total + count >= maxBytes) return ok(buffer.slice(0, total + count));
          total += count;
        }
      } catch (error) {
        return { ok: false, errno: (error as NodeJS.ErrnoException).code ?? "EIO" };
      }
    },
    replaceContent: (fd, bytes) => {
      try {
        ftruncateSync(fd, 0);
        writeSync(fd, bytes, 0, bytes.length, 0);
        return ok(undefined);
      } catch (error) {
        return { ok: false, errno: (error as NodeJS.ErrnoException).code ?? "EIO" };
      }
    },
    close: (fd) => {
      s.close!(fd);
    },
  };
}
