// Thin kernel32/ntdll bindings for the Windows platform, through bun:ffi.
//
// Each call returns a Win32Result with the Win32 error name instead of
// throwing, and reads GetLastError right after the failing call. The rules
// that turn these results into liveness, held and open verdicts live in
// windows.ts and run against a fake of this interface in the unit tests.
import { dlopen, FFIType, ptr } from "bun:ffi";

export type Win32Result<T> = { ok: true; value: T } | { ok: false; error: string };

/** Metadata of the file behind one handle (BY_HANDLE_FILE_INFORMATION plus FILE_STANDARD_INFO). */
export interface Win32FileInfo {
  attributes: number;
  volumeSerial: number;
  fileIndex: bigint;
  size: number;
  /** Last write time as a FILETIME: 100 ns units since 1601-01-01 UTC. */
  lastWrite: bigint;
  links: number;
  deletePending: boolean;
}

/** The Windows calls jerrylock makes; windows.ts uses nothing else, so tests can fake it. */
export interface Win32Api {
  currentProcessId(): number;
  hostname(): string;
  /** Current time as a FILETIME. */
  systemTime(): bigint;

  openProcess(pid: number, access: number): Win32Result<number>;
  exitCode(process: number): Win32Result<number>;
  /** WaitForSingleObject with a zero timeout: true once the process has exited. */
  hasExited(process: number): Win32Result<boolean>;
  /** Creation time of the process as a FILETIME. */
  creationTime(process: number): Win32Result<bigint>;
  imagePath(process: number): string | null;
  close(handle: number): void;

  /** CreateFileW on a directory, following reparse points in the path as the user typed it. */
  openDirectory(path: string): Win32Result<number>;
  /**
   * NtCreateFile relative to `root`; an empty name reopens the file `root`
   * refers to. Returns ERROR_DELETE_PENDING for a file marked for deletion.
   */
  openAt(root: number, name: string, access: number, share: number, disposition: number, options: number): Win32Result<number>;
  info(handle: number): Win32Result<Win32FileInfo>;
  list(dir: number): Win32Result<string[]>;
  /** LockFileEx over the whole file without waiting. */
  lockWholeFile(handle: number, exclusive: boolean): Win32Result<void>;
  unlockWholeFile(handle: number): Win32Result<void>;
  read(handle: number, maxBytes: number): Win32Result<Uint8Array>;
  /** Writes `bytes` at offset 0 and truncates the file after them. */
  replaceContent(handle: number, bytes: Uint8Array): Win32Result<void>;
  /** SetFileInformationByHandle(FileDispositionInfo): the file goes when its last handle closes. */
  markForDeletion(handle: number): Win32Result<void>;
}

// Access rights, share modes and options (winnt.h, ntifs.h).
export const ACCESS = {
  readData: 0x0001,
  listDirectory: 0x0001,
  writeData: 0x0002,
  traverse: 0x0020,
  readAttributes: 0x0080,
  delete: 0x0001_0000,
  synchronize: 0x0010_0000,
  processQueryLimited: 0x1000,
} as const;

export const SHARE = { read: 1, write: 2, delete: 4, all: 7, none: 0 } as const;

export const DISPOSITION = { open: 1, openIf: 3 } as const;

export const OPTIONS = {
  directory: 0x0000_0001,
  synchronousIo: 0x0000_0020,
  nonDirectory: 0x0000_0040,
  openReparsePoint: 0x0020_0000,
} as const;

export const ATTRIBUTE = { directory: 0x10, device: 0x40, reparsePoint: 0x400 } as const;

/** GetExitCodeProcess's value for a running process. */
export const STILL_ACTIVE = 259;

/** FILETIME of the Unix epoch. */
export const FILETIME_UNIX_EPOCH = 116_444_736_000_000_000n;

export function filetimeToMs(filetime: bigint): number {
  return Number((filetime - FILETIME_UNIX_EPOCH) / 10_000n);
}

/** Win32 error names for the codes jerrylock branches on or reports. */
export const WIN32_ERRORS: Record<number, string> = {
  2: "ERROR_FILE_NOT_FOUND",
  3: "ERROR_PATH_NOT_FOUND",
  5: "ERROR_ACCESS_DENIED",
  6: "ERROR_INVALID_HANDLE",
  18: "ERROR_NO_MORE_FILES",
  32: "ERROR_SHARING_VIOLATION",
  33: "ERROR_LOCK_VIOLATION",
  80: "ERROR_FILE_EXISTS",
  87: "ERROR_INVALID_PARAMETER",
  123: "ERROR_INVALID_NAME",
  158: "ERROR_NOT_LOCKED",
  183: "ERROR_ALREADY_EXISTS",
  267: "ERROR_DIRECTORY",
  303: "ERROR_DELETE_PENDING",
  1224: "ERROR_USER_MAPPED_FILE",
};

// NTSTATUS values from NtCreateFile that get their own name. The generic
// mapping (RtlNtStatusToDosError) turns STATUS_DELETE_PENDING into
// ERROR_ACCESS_DENIED, which would hide the delete-pending state.
const NTSTATUS_NAMES: Record<number, string> = {
  0xc000_0022: "ERROR_ACCESS_DENIED",
  0xc000_0033: "ERROR_INVALID_NAME",
  0xc000_0034: "ERROR_FILE_NOT_FOUND",
  0xc000_0035: "ERROR_ALREADY_EXISTS",
  0xc000_003a: "ERROR_PATH_NOT_FOUND",
  0xc000_0043: "ERROR_SHARING_VIOLATION",
  0xc000_0056: "ERROR_DELETE_PENDING",
  0xc000_00ba: "ERROR_FILE_IS_A_DIRECTORY",
  0xc000_0103: "ERROR_DIRECTORY",
};

function utf16z(text: string): Buffer {
  return Buffer.from(`${text}\0`, "utf16le");
}

/** Loads kernel32 and ntdll; call only on Windows. */
export function loadWin32(): Win32Api {
  const kernel32 = dlopen("kernel32.dll", {
    GetLastError: { args: [], returns: FFIType.u32 },
    GetCurrentProcessId: { args: [], returns: FFIType.u32 },
    GetSystemTimeAsFileTime: { args: [FFIType.ptr], returns: FFIType.void },
    OpenProcess: { args: [FFIType.u32, FFIType.i32, FFIType.u32], returns: FFIType.i64_fast },
    GetExitCodeProcess: { args: [FFIType.i64, FFIType.ptr], returns: FFIType.i32 },
    WaitForSingleObject: { args: [FFIType.i64, FFIType.u32], returns: FFIType.u32 },
    GetProcessTimes: { args: [FFIType.i64, FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    QueryFullProcessImageNameW: { args: [FFIType.i64, FFIType.u32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    CloseHandle: { args: [FFIType.i64], returns: FFIType.i32 },
    CreateFileW: {
      args: [FFIType.ptr, FFIType.u32, FFIType.u32, FFIType.ptr, FFIType.u32, FFIType.u32, FFIType.i64],
      returns: FFIType.i64_fast,
    },
    GetFileInformationByHandle: { args: [FFIType.i64, FFIType.ptr], returns: FFIType.i32 },
    GetFileInformationByHandleEx: { args: [FFIType.i64, FFIType.u32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    SetFileInformationByHandle: { args: [FFIType.i64, FFIType.u32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    LockFileEx: { args: [FFIType.i64, FFIType.u32, FFIType.u32, FFIType.u32, FFIType.u32, FFIType.ptr], returns: FFIType.i32 },
    UnlockFileEx: { args: [FFIType.i64, FFIType.u32, FFIType.u32, FFIType.u32, FFIType.ptr], returns: FFIType.i32 },
    ReadFile: { args: [FFIType.i64, FFIType.ptr, FFIType.u32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    WriteFile: { args: [FFIType.i64, FFIType.ptr, FFIType.u32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    SetFilePointerEx: { args: [FFIType.i64, FFIType.i64, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    SetEndOfFile: { args: [FFIType.i64], returns: FFIType.i32 },
  });
  const ntdll = dlopen("ntdll.dll", {
    NtCreateFile: {
      args: [
        FFIType.ptr,
        FFIType.u32,
        FFIType.ptr,
        FFIType.ptr,
        FFIType.ptr,
        FFIType.u32,
        FFIType.u32,
        FFIType.u32,
        FFIType.u32,
        FFIType.ptr,
        FFIType.u32,
      ],
      returns: FFIType.u32,
    },
    RtlNtStatusToDosError: { args: [FFIType.u32], returns: FFIType.u32 },
  });
  const k = kernel32.symbols;
  const INVALID_HANDLE = -1;

  // GetLastError must be the very next native call after the failing one.
  const lastError = (): string => {
    const code = k.GetLastError();
    return WIN32_ERRORS[code] ?? `Win32 error ${code}`;
  };
  const fail = <T>(): Win32Result<T> => ({ ok: false, error: lastError() });
  const ok = <T>(value: T): Win32Result<T> => ({ ok: true, value });
  const statusName = (status: number): string => {
    const named = NTSTATUS_NAMES[status];
    if (named !== undefined) return named;
    const code = ntdll.symbols.RtlNtStatusToDosError(status);
    return WIN32_ERRORS[code] ?? `NTSTATUS 0x${status.toString(16).padStart(8, "0")}`;
  };

  const fileInfo = (handle: number): Win32Result<Win32FileInfo> => {
    // BY_HANDLE_FILE_INFORMATION, 52 bytes.
    const byHandle = new Uint8Array(56);
    if (k.GetFileInformationByHandle(handle, byHandle) === 0) return fail();
    // FILE_STANDARD_INFO (class 1), 24 bytes: DeletePending is the byte at 20.
    const standard = new Uint8Array(24);
    if (k.GetFileInformationByHandleEx(handle, 1, standard, standard.length) === 0) return fail();
    const view = new DataView(byHandle.buffer);
    const sizeHigh = view.getUint32(32, true);
    const sizeLow = view.getUint32(36, true);
    return ok({
      attributes: view.getUint32(0, true),
      lastWrite: view.getBigUint64(20, true),
      volumeSerial: view.getUint32(28, true),
      size: sizeHigh * 2 ** 32 + sizeLow,
      links: view.getUint32(40, true),
      fileIndex: (BigInt(view.getUint32(44, true)) << 32n) | BigInt(view.getUint32(48, true)),
      deletePending: standard[20] !== 0,
    });
  };

  return {
    currentProcessId: () => k.GetCurrentProcessId(),
    hostname: () => require("node:os").hostname() as string,
    systemTime: () => {
      const out = new BigUint64Array(1);
      k.GetSystemTimeAsFileTime(out);
      return out[0]!;
    },

    openProcess: (pid, access) => {
      const handle = Number(k.OpenProcess(access, 0, pid));
      return handle === 0 ? fail() : ok(handle);
    },
    exitCode: (process) => {
      const out = new Uint32Array(1);
      return k.GetExitCodeProcess(process, out) === 0 ? fail() : ok(out[0]!);
    },
    hasExited: (process) => {
      const result = k.WaitForSingleObject(process, 0);
      if (result === 0) return ok(true);
      if (result === 0x102) return ok(false);
      return fail();
    },
    creationTime: (process) => {
      const times = new BigUint64Array(4);
      const pointer = (index: number): Uint8Array => new Uint8Array(times.buffer, index * 8, 8);
      if (k.GetProcessTimes(process, pointer(0), pointer(1), pointer(2), pointer(3)) === 0) return fail();
      return ok(times[0]!);
    },
    imagePath: (process) => {
      const buffer = new Uint16Array(1024);
      const size = new Uint32Array([buffer.length]);
      if (k.QueryFullProcessImageNameW(process, 0, buffer, size) === 0) return null;
      return Buffer.from(buffer.buffer, 0, size[0]! * 2).toString("utf16le");
    },
    close: (handle) => {
      k.CloseHandle(handle);
    },

    openDirectory: (path) => {
      const FILE_FLAG_BACKUP_SEMANTICS = 0x0200_0000;
      const access = ACCESS.listDirectory | ACCESS.traverse | ACCESS.readAttributes | ACCESS.synchronize;
      const handle = Number(k.CreateFileW(utf16z(path), access, SHARE.all, null, 3, FILE_FLAG_BACKUP_SEMANTICS, 0));
      return handle === INVALID_HANDLE ? fail() : ok(handle);
    },
    openAt: (root, name, access, share, disposition, options) => {
      const nameBuffer = Buffer.from(name, "utf16le");
      // UNICODE_STRING: Length and MaximumLength in bytes, then the buffer pointer.
      const unicode = new DataView(new ArrayBuffer(16));
      unicode.setUint16(0, nameBuffer.length, true);
      unicode.setUint16(2, nameBuffer.length, true);
      unicode.setBigUint64(8, BigInt(nameBuffer.length === 0 ? 0 : (ptr(nameBuffer))), true);
      // OBJECT_ATTRIBUTES: Length, RootDirectory, ObjectName, Attributes
      // (OBJ_CASE_INSENSITIVE, as Win32 names are), no security descriptor.
      const attributes = new DataView(new ArrayBuffer(48));
      attributes.setUint32(0, 48, true);
      attributes.setBigUint64(8, BigInt(root), true);
      attributes.setBigUint64(16, BigInt(ptr(unicode.buffer)), true);
      attributes.setUint32(24, 0x40, true);
      const handleOut = new BigInt64Array(1);
      const ioStatus = new Uint8Array(16);
      const status = ntdll.symbols.NtCreateFile(
        handleOut,
        access | ACCESS.synchronize,
        new Uint8Array(attributes.buffer),
        ioStatus,
        null,
        0x80,
        share,
        disposition,
        options | OPTIONS.synchronousIo,
        null,
        0,
      );
      // Keep the name alive until the call has returned.
      void nameBuffer.length;
      return status === 0 ? ok(Number(handleOut[0])) : { ok: false, error: statusName(status) };
    },
    info: fileInfo,
    list: (dir) => {
      // FILE_FULL_DIR_INFO records (class 14, restart class 15), 64 KiB at a time.
      const names: string[] = [];
      const buffer = new Uint8Array(64 * 1024);
      const view = new DataView(buffer.buffer);
      let infoClass = 15;
      for (;;) {
        if (k.GetFileInformationByHandleEx(dir, infoClass, buffer, buffer.length) === 0) {
          const error = lastError();
          if (error === "ERROR_NO_MORE_FILES") return ok(names);
          return { ok: false, error };
        }
        infoClass = 14;
        let offset = 0;
        for (;;) {
          const next = view.getUint32(offset, true);
          const nameBytes = view.getUint32(offset + 60, true);
          const name = Buffer.from(buffer.buffer, offset + 68, nameBytes).toString("utf16le");
          if (name !== "." && name !== "..") names.push(name);
          if (next === 0) break;
          offset += next;
        }
      }
    },
    lockWholeFile: (handle, exclusive) => {
      const LOCKFILE_FAIL_IMMEDIATELY = 1;
      const LOCKFILE_EXCLUSIVE_LOCK = 2;
      const flags = LOCKFILE_FAIL_IMMEDIATELY | (exclusive ? LOCKFILE_EXCLUSIVE_LOCK : 0);
      const overlapped = new Uint8Array(32);
      return k.LockFileEx(handle, flags, 0, 0xffff_ffff, 0xffff_ffff, overlapped) === 0 ? fail() : ok(undefined);
    },
    unlockWholeFile: (handle) => {
      const overlapped = new Uint8Array(32);
      return k.UnlockFileEx(handle, 0, 0xffff_ffff, 0xffff_ffff, overlapped) === 0 ? fail() : ok(undefined);
    },
    read: (handle, maxBytes) => {
      const buffer = new Uint8Array(maxBytes);
      const count = new Uint32Array(1);
      let total = 0;
      while (total < maxBytes) {
        const chunk = buffer.subarray(total);
        if (k.ReadFile(handle, chunk, chunk.length, count, null) === 0) return fail();
        if (count[0] === 0) break;
        total += count[0]!;
      }
      return ok(buffer.slice(0, total));
    },
    replaceContent: (handle, bytes) => {
      if (k.SetFilePointerEx(handle, 0, null, 0) === 0) return fail();
      const count = new Uint32Array(1);
      if (bytes.length > 0 && (k.WriteFile(handle, bytes, bytes.length, count, null) === 0 || count[0] !== bytes.length)) {
        return fail();
      }
      return k.SetEndOfFile(handle) === 0 ? fail() : ok(undefined);
    },
    markForDeletion: (handle) => {
      // FILE_DISPOSITION_INFO (class 4) is one BOOLEAN.
      const FILE_DISPOSITION_INFO_CLASS = 4;
      return k.SetFileInformationByHandle(handle, FILE_DISPOSITION_INFO_CLASS, new Uint8Array([1]), 1) === 0 ? fail() : ok(undefined);
    },
  };
}
