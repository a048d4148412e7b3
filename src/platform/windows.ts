// Windows implementation of the Platform interface, on kernel32 and ntdll
// (see windows-api.ts). Windows has no lock table like /proc/locks, no signals
// and no boot id, so the rules differ from Linux:
//
// - liveness: OpenProcess, then WaitForSingleObject or GetExitCodeProcess.
//   ERROR_ACCESS_DENIED from OpenProcess means the pid exists, so it is alive.
// - start time: GetProcessTimes. The creation FILETIME (100 ns) is also the
//   start id, because a reused pid always gets a later creation time.
// - held: LockFileEx without waiting over the whole file, on a handle opened
//   with read, write and delete sharing. A lock violation means another handle
//   has a byte-range lock. Windows has no call that tests a lock without
//   taking it, so this takes the lock for a moment and releases it.
// - open: a DELETE-access open fails with a sharing violation while any other
//   handle lacks FILE_SHARE_DELETE, which C runtime, Python and most lock
//   clients never pass. A sharing violation means "in use", not an error.
//   While that probe handle is open (microseconds), an owner opening without
//   delete sharing gets a sharing violation itself.
// - removal: the file is marked for deletion through the open handle
//   (FileDispositionInfo), never by name, so a name swapped meanwhile is safe.
// - a file whose deletion is pending (another process deleted it while a
//   handle stays open) is treated as already gone: it vanishes when the last
//   handle closes, and opening it fails until then.
import { TARGET } from "../version.ts";
import {
  ACCESS,
  ATTRIBUTE,
  DISPOSITION,
  filetimeToMs,
  loadWin32,
  OPTIONS,
  SHARE,
  STILL_ACTIVE,
  type Win32Api,
  type Win32FileInfo,
  type Win32Result,
} from "./windows-api.ts";
import {
  PlatformError,
  type CandidateHandle,
  type DirHandle,
  type FileKind,
  type FileStat,
  type HeldCheck,
  type LockAttempt,
  type LockHolder,
  type OpenCheck,
  type Platform,
  type ProbeScan,
  type ProcessInfo,
} from "./types.ts";

/** Windows pids are 32-bit multiples of 4. */
export const WINDOWS_MAX_PID = 0xffff_fffc;

/** Entry names are one path component; these would make NtCreateFile leave the directory. */
const INVALID_NAME = /[\\/]|^\.{1,2}$|^$/;

const NOT_THERE = new Set(["ERROR_FILE_NOT_FOUND", "ERROR_PATH_NOT_FOUND", "ERROR_DELETE_PENDING"]);

const STAT_ACCESS = ACCESS.readAttributes;
const READ_ACCESS = ACCESS.readData | ACCESS.readAttributes;
const FILE_OPTIONS = OPTIONS.nonDirectory | OPTIONS.openReparsePoint;

/** Extra handles a candidate gathers during the removal protocol. */
interface CandidateState {
  /** The main handle has read and write access (createCandidate), so it can lock itself. */
  dataAccess: boolean;
  /** Handle that holds the byte-range lock, when it is not the main handle. */
  lockHandle?: number;
  /** DELETE-access handle that proves and keeps sole use until close. */
  deleteHandle?: number;
}

export function kindOf(attributes: number): FileKind {
  // Every reparse point (symlink, junction, cloud placeholder) counts as a
  // symlink, so jerrylock never opens through one.
  if ((attributes & ATTRIBUTE.reparsePoint) !== 0) return "symlink";
  if ((attributes & ATTRIBUTE.directory) !== 0) return "directory";
  if ((attributes & ATTRIBUTE.device) !== 0) return "char-device";
  return "file";
}

export function statFromInfo(info: Win32FileInfo): FileStat {
  return {
    kind: kindOf(info.attributes),
    dev: info.volumeSerial.toString(16).padStart(8, "0"),
    ino: info.fileIndex,
    size: info.size,
    mtimeMs: filetimeToMs(info.lastWrite),
    nlink: info.links,
    // Windows owners are SIDs, not uids; nothing in jerrylock compares owners.
    uid: 0,
  };
}

function sameIdentity(info: Win32FileInfo, stat: FileStat): boolean {
  const other = statFromInfo(info);
  return other.dev === stat.dev && other.ino === stat.ino;
}

/** Decides liveness of `pid` from OpenProcess and friends. */
export function inspectWindowsProcess(api: Win32Api, pid: number): ProcessInfo {
  let handle: number;
  let canWait = true;

  let opened = api.openProcess(pid, ACCESS.processQueryLimited | ACCESS.synchronize);
  if (!opened.ok && opened.error === "ERROR_ACCESS_DENIED") {
    canWait = false;
    opened = api.openProcess(pid, ACCESS.processQueryLimited);
  }
  if (!opened.ok) {
    if (opened.error === "ERROR_INVALID_PARAMETER") return { liveness: "dead", detail: "OpenProcess: no such process" };
    if (opened.error === "ERROR_ACCESS_DENIED") {
      return { liveness: "alive", detail: "OpenProcess: access denied, so the process exists; its start time is unreadable" };
    }
    return { liveness: "unknown", detail: `OpenProcess failed: ${opened.error}` };
  }
  handle = opened.value;

  try {
    const exited = exitState(api, handle, canWait);
    if (exited === "unknown") return { liveness: "unknown", detail: "GetExitCodeProcess failed" };
    // An exited process keeps its pid while another process has a handle to it; it is dead all the same.
    if (exited) return { liveness: "dead", detail: "the process has exited" };

    const info: ProcessInfo = { liveness: "alive" };
    const created = api.creationTime(handle);
    if (created.ok) {
      info.startTimeMs = filetimeToMs(created.value);
      info.startId = created.value.toString();
    }
    const image = api.imagePath(handle);
    if (image !== null) info.command = image.slice(image.lastIndexOf("\\") + 1);
    return info;
  } finally {
    api.close(handle);
  }
}

function exitState(api: Win32Api, handle: number, canWait: boolean): boolean | "unknown" {
  if (canWait) {
    const waited = api.hasExited(handle);
    if (waited.ok) return waited.value;
  }
  // NOTE: without SYNCHRONIZE access a process that exited with code 259
  // (STILL_ACTIVE) looks the same as a running one, so it counts as alive.
  const code = api.exitCode(handle);
  if (!code.ok) return "unknown";
  return code.value !== STILL_ACTIVE;
}

/** Platform for Windows; `api` is replaced by a fake in unit tests. */
export function createWindowsPlatform(api: Win32Api = loadWin32(), target: string = TARGET): Platform {
  const candidates = new Map<number, CandidateState>();

  const textOf = (name: Uint8Array): string => {
    const text = Buffer.from(name).toString("utf8");
    if (INVALID_NAME.test(text)) throw new PlatformError("ERROR_INVALID_NAME", "NtCreateFile", text, "not a single file name");
    return text;
  };
  const error = (result: { ok: false; error: string }, syscall: string, path?: string): PlatformError =>
    new PlatformError(result.error, syscall, path);

  /** Opens `name` in `dir`, calls `use` with the handle and its info, and closes it. */
  const withFile = <T>(
    dir: number,
    name: string,
    access: number,
    share: number,
    use: (handle: number, info: Win32FileInfo) => T,
  ): Win32Result<T> => {
    const opened = api.openAt(dir, name, access, share, DISPOSITION.open, FILE_OPTIONS);
    if (!opened.ok) return opened;
    try {
      const info = api.info(opened.value);
      if (!info.ok) return info;
      return { ok: true, value: use(opened.value, info.value) };
    } finally {
      api.close(opened.value);
    }
  };

  const state = (file: CandidateHandle): CandidateState => {
    const found = candidates.get(file.handle);
    if (found === undefined) throw new PlatformError("ERROR_INVALID_HANDLE", "jerrylock", Buffer.from(file.name).toString("utf8"));
    return found;
  };

  const heldProbe = (dir: DirHandle, stat: FileStat, name: Uint8Array | undefined): HeldCheck => {
    const method = "LockFileEx without waiting";
    if (name === undefined) return { state: "unknown", method, reason: "no entry name to open" };
    const text = textOf(name);

    const result = withFile(dir.handle, text, READ_ACCESS, SHARE.all, (handle, info): HeldCheck => {
      if (!sameIdentity(info, stat)) return { state: "unknown", method, reason: "the name now points to another file" };
      return testLock(api, handle, method);
    });
    if (result.ok) return result.value;
    if (result.error === "ERROR_FILE_NOT_FOUND") return { state: "free", method };
    if (result.error === "ERROR_DELETE_PENDING") return { state: "unknown", method, reason: "deletion is pending until its last handle closes" };
    if (result.error === "ERROR_SHARING_VIOLATION") {
      return { state: "unknown", method, reason: "another process opened it without read sharing, so the lock cannot be tested" };
    }
    return { state: "unknown", method, reason: `open failed: ${result.error}` };
  };

  const openProbe = (dir: DirHandle, stat: FileStat, name: Uint8Array | undefined): OpenCheck => {
    const method = "sharing check of a DELETE-access open";
    if (name === undefined) return { state: "unknown", method, reason: "no entry name to open" };

    const result = withFile(dir.handle, textOf(name), ACCESS.delete | STAT_ACCESS, SHARE.all, (_handle, info): OpenCheck =>
      sameIdentity(info, stat) ? { state: "closed", method } : { state: "unknown", method, reason: "the name now points to another file" },
    );
    if (result.ok) return result.value;
    if (result.error === "ERROR_SHARING_VIOLATION") return { state: "open", pids: [], method };
    if (result.error === "ERROR_FILE_NOT_FOUND") return { state: "closed", method };
    if (result.error === "ERROR_DELETE_PENDING") return { state: "unknown", method, reason: "deletion is pending until its last handle closes" };
    return { state: "unknown", method, reason: `open failed: ${result.error}` };
  };

  const platform: Platform = {
    os: "windows",
    target,
    maxPid: WINDOWS_MAX_PID,

    // No boot id: a boot time derived from GetTickCount64 moves with every
    // clock step, and a false "earlier boot" would call a live owner stale.
    // The start-time rule already catches a pid reused after a reboot.
    host: () => ({ hostname: api.hostname() }),
    selfPid: () => api.currentProcessId(),
    now: () => filetimeToMs(api.systemTime()),

    openDir(path) {
      const opened = api.openDirectory(path);
      if (!opened.ok) throw error(opened, "CreateFileW", path);
      const info = api.info(opened.value);
      if (!info.ok || (info.value.attributes & ATTRIBUTE.directory) === 0) {
        api.close(opened.value);
        throw new PlatformError(info.ok ? "ERROR_DIRECTORY" : info.error, "CreateFileW", path, "not a directory");
      }
      return { path, handle: opened.value };
    },
    openSubdir(dir, name, displayPath) {
      const text = textOf(name);
      const access = ACCESS.listDirectory | ACCESS.traverse | ACCESS.readAttributes;
      const opened = api.openAt(dir.handle, text, access, SHARE.all, DISPOSITION.open, OPTIONS.directory | OPTIONS.openReparsePoint);
      if (!opened.ok) throw error(opened, "NtCreateFile", displayPath);
      const info = api.info(opened.value);
      if (!info.ok || kindOf(info.value.attributes) !== "directory") {
        api.close(opened.value);
        // A junction or directory symlink is a reparse point: never followed.
        throw info.ok ? new PlatformError("ELOOP", "NtCreateFile", displayPath, "reparse point") : error(info, "GetFileInformationByHandle", displayPath);
      }
      return { path: displayPath, handle: opened.value };
    },
    closeDir(dir) {
      api.close(dir.handle);
    },
    listDir(dir) {
      const listed = api.list(dir.handle);
      if (!listed.ok) throw error(listed, "GetFileInformationByHandleEx", dir.path);
      // NOTE: a name with an unpaired UTF-16 surrogate does not survive the
      // UTF-8 round trip, so statAt later reports it as gone and it is skipped.
      return listed.value.map((name) => new Uint8Array(Buffer.from(name, "utf8")));
    },
    statAt(dir, name) {
      const text = textOf(name);
      const result = withFile(dir.handle, text, STAT_ACCESS, SHARE.all, (_handle, info) => info);
      if (!result.ok) {
        if (NOT_THERE.has(result.error) || result.error === "ERROR_FILE_IS_A_DIRECTORY") {
          return result.error === "ERROR_FILE_IS_A_DIRECTORY" ? statDirectory(api, dir, text) : null;
        }
        throw error(result, "NtCreateFile", text);
      }
      if (result.value.deletePending) return null;
      return statFromInfo(result.value);
    },
    readAt(dir, name, expected, maxBytes) {
      const text = textOf(name);
      const result = withFile(dir.handle, text, READ_ACCESS, SHARE.all, (handle, info) => {
        if (!sameIdentity(info, expected) || info.deletePending || kindOf(info.attributes) !== "file") return null;
        const content = api.read(handle, maxBytes);
        // A byte-range lock of another handle makes ReadFile fail with ERROR_LOCK_VIOLATION.
        if (!content.ok) throw error(content, "ReadFile", text);
        return content.value;
      });
      if (result.ok) return result.value;
      if (NOT_THERE.has(result.error)) return null;
      throw error(result, "NtCreateFile", text);
    },

    beginScan(dir): ProbeScan {
      return {
        held: (stat, name, where) => heldProbe(where ?? dir, stat, name),
        open: (stat, name, where) => openProbe(where ?? dir, stat, name),
      };
    },
    inspectProcess: (pid) => inspectWindowsProcess(api, pid),

    openCandidate(dir, name) {
      const text = textOf(name);
      const opened = api.openAt(dir.handle, text, STAT_ACCESS, SHARE.all, DISPOSITION.open, FILE_OPTIONS);
      if (!opened.ok) {
        if (NOT_THERE.has(opened.error)) return null;
        throw error(opened, "NtCreateFile", text);
      }
      return track(opened.value, dir, name, text, false);
    },
    statHandle(file) {
      const info = api.info(file.handle);
      if (!info.ok) throw error(info, "GetFileInformationByHandle", Buffer.from(file.name).toString("utf8"));
      return statFromInfo(info.value);
    },
    tryLock(file): LockAttempt {
      const current = state(file);
      const text = Buffer.from(file.name).toString("utf8");
      let handle = file.handle;
      if (!current.dataAccess) {
        // Reopen the same file object (empty name relative to the handle) with read access, which LockFileEx needs.
        const reopened = api.openAt(file.handle, "", READ_ACCESS, SHARE.all, DISPOSITION.open, OPTIONS.nonDirectory);
        if (!reopened.ok) {
          if (reopened.error === "ERROR_SHARING_VIOLATION") {
            return { state: "conflict", holders: [windowsHolder()], method: "sharing violation on a read-access open" };
          }
          return { state: "error", error: error(reopened, "NtCreateFile", text) };
        }
        handle = reopened.value;
      }

      const locked = api.lockWholeFile(handle, true);
      if (!locked.ok) {
        if (handle !== file.handle) api.close(handle);
        if (locked.error === "ERROR_LOCK_VIOLATION") return { state: "conflict", holders: [windowsHolder()], method: "LockFileEx" };
        return { state: "error", error: error(locked, "LockFileEx", text) };
      }
      if (handle !== file.handle) current.lockHandle = handle;
      return { state: "locked" };
    },
    beginSoleOpener(file): OpenCheck {
      const current = state(file);
      // The share mode must admit jerrylock's own handles: read for the lock
      // handle of clean, read and write for the main handle of with. Any other
      // process's handle that does not share delete makes this open fail.
      const share = current.dataAccess ? SHARE.read | SHARE.write : SHARE.read;
      const method = current.dataAccess ? "DELETE-access open that shares read and write" : "DELETE-access open that shares read only";
      const opened = api.openAt(file.handle, "", ACCESS.delete | STAT_ACCESS, share, DISPOSITION.open, OPTIONS.nonDirectory);
      if (!opened.ok) {
        if (opened.error === "ERROR_SHARING_VIOLATION") return { state: "open", pids: [], method };
        return { state: "unknown", method, reason: `open failed: ${opened.error}` };
      }
      current.deleteHandle = opened.value;
      return { state: "closed", method };
    },
    unlinkHeld(file) {
      const current = state(file);
      const text = Buffer.from(file.name).toString("utf8");
      if (current.deleteHandle === undefined) {
        throw new PlatformError("ERROR_INVALID_HANDLE", "SetFileInformationByHandle", text, "beginSoleOpener did not open a DELETE-access handle");
      }
      const marked = api.markForDeletion(current.deleteHandle);
      if (!marked.ok) throw error(marked, "SetFileInformationByHandle", text);
    },
    // NOTE: while the DELETE handle is open, only read-only openers that pass
    // FILE_SHARE_DELETE can open the file, and nothing reports them, so this
    // never returns true on Windows.
    endSoleOpener: () => false,
    closeCandidate(file) {
      const current = candidates.get(file.handle);
      candidates.delete(file.handle);
      // Closing a handle releases its byte-range locks; the last close removes a file marked for deletion.
      if (current?.deleteHandle !== undefined) api.close(current.deleteHandle);
      if (current?.lockHandle !== undefined) api.close(current.lockHandle);
      api.close(file.handle);
    },

    createCandidate(dir, name) {
      const text = textOf(name);
      const access = ACCESS.readData | ACCESS.writeData | ACCESS.readAttributes;
      const opened = api.openAt(dir.handle, text, access, SHARE.all, DISPOSITION.openIf, FILE_OPTIONS);
      if (!opened.ok) throw error(opened, "NtCreateFile", text);
      const info = api.info(opened.value);
      if (!info.ok || kindOf(info.value.attributes) === "symlink") {
        api.close(opened.value);
        throw info.ok ? new PlatformError("ELOOP", "NtCreateFile", text, "reparse point") : error(info, "GetFileInformationByHandle", text);
      }
      return track(opened.value, dir, name, text, true);
    },
    writeRecord(file, bytes) {
      const current = state(file);
      const handle = current.dataAccess ? file.handle : current.lockHandle;
      const text = Buffer.from(file.name).toString("utf8");
      if (handle === undefined) throw new PlatformError("ERROR_INVALID_HANDLE", "WriteFile", text, "the file is not open for writing");
      const written = api.replaceContent(handle, bytes);
      if (!written.ok) throw error(written, "WriteFile", text);
    },
  };

  function track(handle: number, dir: DirHandle, name: Uint8Array, text: string, dataAccess: boolean): CandidateHandle {
    const info = api.info(handle);
    if (!info.ok || kindOf(info.value.attributes) === "symlink") {
      api.close(handle);
      // The core branches on ELOOP for "replaced by a symlink", on every OS.
      throw info.ok ? new PlatformError("ELOOP", "NtCreateFile", text, "reparse point") : error(info, "GetFileInformationByHandle", text);
    }
    candidates.set(handle, { dataAccess });
    return { dir, name: name.slice(), handle };
  }

  return platform;
}

/** Byte-range locks and sharing conflicts never name the process on Windows. */
function windowsHolder(mode: LockHolder["mode"] = "write"): LockHolder {
  return { kind: "windows", mode, pid: null };
}

/** Tests the byte-range lock state of an open handle; takes each lock only for a moment. */
export function testLock(api: Win32Api, handle: number, method: string): HeldCheck {
  const exclusive = api.lockWholeFile(handle, true);
  if (exclusive.ok) {
    api.unlockWholeFile(handle);
    return { state: "free", method };
  }
  if (exclusive.error !== "ERROR_LOCK_VIOLATION") return { state: "unknown", method, reason: `LockFileEx failed: ${exclusive.error}` };

  // A shared lock that succeeds means the other holder's lock is shared too.
  const shared = api.lockWholeFile(handle, false);
  if (shared.ok) {
    api.unlockWholeFile(handle);
    return { state: "held", holders: [windowsHolder("read")], method };
  }
  return { state: "held", holders: [windowsHolder("write")], method };
}

/** Stat of a subdirectory: opened as a directory, never through a reparse point. */
function statDirectory(api: Win32Api, dir: DirHandle, name: string): FileStat | null {
  const opened = api.openAt(dir.handle, name, STAT_ACCESS, SHARE.all, DISPOSITION.open, OPTIONS.openReparsePoint);
  if (!opened.ok) {
    if (NOT_THERE.has(opened.error)) return null;
    throw new PlatformError(opened.error, "NtCreateFile", name);
  }
  try {
    const info = api.info(opened.value);
    if (!info.ok) throw new PlatformError(info.error, "GetFileInformationByHandle", name);
    return info.value.deletePending ? null : statFromInfo(info.value);
  } finally {
    api.close(opened.value);
  }
}
