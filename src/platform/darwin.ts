// macOS implementation of the Platform interface, on libSystem (see
// darwin-api.ts). macOS has no /proc, so several checks are weaker than on
// Linux:
//
// - held: fcntl(F_GETLK) reports the first conflicting lock, flock(2) locks
//   included (with pid -1), because macOS keeps flock and POSIX locks in one
//   list per file. Only one holder is named, and a flock holder has no pid.
// - open: proc_listpidspath finds processes that have the file open, but only
//   those this user may inspect. Processes of other users stay invisible
//   unless jerrylock runs as root. There is no lease, so an open that starts
//   during removal is not noticed.
// - liveness: kill(pid, 0), where EPERM means the pid exists. The start time
//   and zombie state come from proc_pidinfo(PROC_PIDTBSDINFO).
// - boot identity: kern.bootsessionuuid, a UUID made at every boot. The
//   kern.boottime value moves when the clock is set, so it is not used.
// - removal: flock(LOCK_EX | LOCK_NB) on the open file excludes both flock and
//   POSIX lockers, then unlinkat relative to the directory descriptor.
import { TARGET } from "../version.ts";
import {
  F_RDLCK,
  LOCK_EX,
  LOCK_NB,
  loadDarwin,
  O,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  S_IFSOCK,
  SZOMB,
  type DarwinApi,
  type DarwinLock,
  type DarwinStat,
} from "./darwin-api.ts";
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
  type ProcessInfo,
} from "./types.ts";

/** PID_MAX in the XNU kernel; pids run from 1 to 99998. */
export const DARWIN_MAX_PID = 99_998;

const PROBE_FLAGS = O.rdonly | O.nofollow | O.nonblock | O.noctty | O.cloexec;

export function kindOfMode(mode: number): FileKind {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return "file";
    case S_IFDIR:
      return "directory";
    case S_IFLNK:
      return "symlink";
    case S_IFIFO:
      return "fifo";
    case S_IFSOCK:
      return "socket";
    case S_IFCHR:
      return "char-device";
    case S_IFBLK:
      return "block-device";
    default:
      return "unknown";
  }
}

export function statFromDarwin(raw: DarwinStat): FileStat {
  return {
    kind: kindOfMode(raw.mode),
    // dev_t on macOS: major in the top 8 bits, minor in the low 24.
    dev: `${(raw.dev >>> 24) & 0xff}:${raw.dev & 0xff_ffff}`,
    ino: raw.ino,
    size: raw.size,
    mtimeMs: raw.mtimeMs,
    nlink: raw.nlink,
    uid: raw.uid,
  };
}

/** Turns an F_GETLK result into a lock holder; flock locks report pid -1. */
export function holderFromLock(lock: DarwinLock): LockHolder {
  const mode = lock.type === F_RDLCK ? "read" : "write";
  if (lock.pid > 0) return { kind: "posix", mode, pid: lock.pid };
  return { kind: "flock", mode, pid: null };
}

/** Decides liveness of `pid` from kill(pid, 0) and proc_pidinfo. */
export function inspectDarwinProcess(api: DarwinApi, pid: number): ProcessInfo {
  const signalled = api.signalZero(pid);
  if (!signalled.ok) {
    if (signalled.errno === "ESRCH") return { liveness: "dead", detail: "kill(pid, 0): no such process" };
    if (signalled.errno !== "EPERM") return { liveness: "unknown", detail: `kill(pid, 0) failed: ${signalled.errno}` };
  }
  const permission = signalled.ok ? "" : "EPERM from kill, so the process exists; ";

  const info = api.processInfo(pid);
  if (!info.ok) {
    // The process ended between the two calls.
    if (info.errno === "ESRCH") return { liveness: "dead", detail: "proc_pidinfo: no such process" };
    return { liveness: "alive", detail: `${permission}start time unreadable: proc_pidinfo failed with ${info.errno}` };
  }
  if (info.value.status === SZOMB) return { liveness: "dead", detail: "zombie: exited, not yet reaped" };

  const { startSeconds, startMicroseconds, command } = info.value;
  return {
    liveness: "alive",
    ...(permission === "" ? {} : { detail: "EPERM from kill, so the process exists" }),
    startTimeMs: startSeconds * 1000 + Math.floor(startMicroseconds / 1000),
    startId: `${startSeconds}.${String(startMicroseconds).padStart(6, "0")}`,
    command,
  };
}

/** Platform for macOS; `api` is replaced by a fake in unit tests. */
export function createDarwinPlatform(api: DarwinApi = loadDarwin(), target: string = TARGET): Platform {
  const display = (name: Uint8Array): string => Buffer.from(name).toString("utf8");
  const error = (errno: string, syscall: string, path: string): PlatformError => new PlatformError(errno, syscall, path);

  /** Opens `name` for probing, checks it is still the inode `stat` describes, runs `use`, closes it. */
  const withProbe = <T>(dir: DirHandle, name: Uint8Array, stat: FileStat, use: (fd: number) => T): { value: T } | { missing: true } | { changed: true } | { errno: string } => {
    const opened = api.openAt(dir.handle, name, PROBE_FLAGS);
    if (!opened.ok) return opened.errno === "ENOENT" ? { missing: true } : { errno: opened.errno };
    try {
      const current = api.fstat(opened.value);
      if (!current.ok) return { errno: current.errno };
      const now = statFromDarwin(current.value);
      if (now.dev !== stat.dev || now.ino !== stat.ino) return { changed: true };
      return { value: use(opened.value) };
    } finally {
      api.close(opened.value);
    }
  };

  const heldProbe = (dir: DirHandle, stat: FileStat, name: Uint8Array | undefined): HeldCheck => {
    const method = "fcntl(F_GETLK)";
    if (name === undefined) return { state: "unknown", method, reason: "no entry name to open" };
    // Opening a fifo or device could block or have side effects.
    if (stat.kind !== "file") return { state: "unknown", method, reason: `not a regular file: ${stat.kind}` };

    const result = withProbe(dir, name, stat, (fd) => api.getLock(fd));
    if ("missing" in result) return { state: "free", method };
    if ("changed" in result) return { state: "unknown", method, reason: "the name now points to another file" };
    if ("errno" in result) return { state: "unknown", method, reason: `open failed: ${result.errno}` };
    const lock = result.value;
    if (!lock.ok) return { state: "unknown", method, reason: `fcntl(F_GETLK) failed: ${lock.errno}` };
    return lock.value === null ? { state: "free", method } : { state: "held", holders: [holderFromLock(lock.value)], method };
  };

  const openProbe = (dir: DirHandle, name: Uint8Array | undefined, exclude: number): OpenCheck => {
    const method = "proc_listpidspath (processes of other users are visible only to root)";
    if (name === undefined) return { state: "unknown", method, reason: "no entry name to open" };
    const listed = api.pidsWithOpen(dir.handle, name);
    if (!listed.ok) return { state: "unknown", method, reason: `proc_listpidspath failed: ${listed.errno}` };
    const pids = listed.value.filter((pid) => pid !== exclude);
    return pids.length > 0 ? { state: "open", pids, method } : { state: "closed", method };
  };

  const platform: Platform = {
    os: "darwin",
    target,
    maxPid: DARWIN_MAX_PID,

    host: () => {
      const bootId = api.bootSessionUuid();
      return bootId === null ? { hostname: api.hostname() } : { hostname: api.hostname(), bootId };
    },
    selfPid: () => api.pid(),
    now: () => Date.now(),

    openDir(path) {
      const opened = api.openDirectory(path);
      if (!opened.ok) throw error(opened.errno, "open directory", path);
      return { path, handle: opened.value };
    },
    openSubdir(dir, name, displayPath) {
      const opened = api.openAt(dir.handle, name, O.rdonly | O.directory | O.nofollow | O.cloexec);
      if (!opened.ok) throw error(opened.errno, "open directory", displayPath);
      return { path: displayPath, handle: opened.value };
    },
    closeDir(dir) {
      api.close(dir.handle);
    },
    listDir(dir) {
      const listed = api.list(dir.handle);
      if (!listed.ok) throw error(listed.errno, "list directory", dir.path);
      return listed.value;
    },
    statAt(dir, name) {
      const result = api.statAt(dir.handle, name);
      if (!result.ok) {
        if (result.errno === "ENOENT") return null;
        throw error(result.errno, "fstatat", display(name));
      }
      return statFromDarwin(result.value);
    },
    readAt(dir, name, expected, maxBytes) {
      if (expected.kind !== "file") return null;
      const result = withProbe(dir, name, expected, (fd) => api.read(fd, maxBytes));
      if ("missing" in result || "changed" in result) return null;
      if ("errno" in result) {
        if (result.errno === "ELOOP") return null;
        throw error(result.errno, "open", display(name));
      }
      if (!result.value.ok) throw error(result.value.errno, "read", display(name));
      return result.value.value;
    },

    beginScan(dir) {
      const self = api.pid();
      return {
        held: (stat, name, where) => heldProbe(where ?? dir, stat, name),
        open: (_stat, name, where) => openProbe(where ?? dir, name, self),
      };
    },
    inspectProcess: (pid) => inspectDarwinProcess(api, pid),

    openCandidate(dir, name) {
      const opened = api.openAt(dir.handle, name, PROBE_FLAGS);
      if (!opened.ok) {
        if (opened.errno === "ENOENT") return null;
        throw error(opened.errno, "open", display(name));
      }
      return { dir, name: name.slice(), handle: opened.value };
    },
    statHandle(file) {
      const result = api.fstat(file.handle);
      if (!result.ok) throw error(result.errno, "fstat", display(file.name));
      return statFromDarwin(result.value);
    },
    tryLock(file): LockAttempt {
      // flock and POSIX locks share one list per file on macOS, so this one
      // lock conflicts with both kinds, in any process.
      const locked = api.flock(file.handle, LOCK_EX | LOCK_NB);
      if (locked.ok) return { state: "locked" };
      if (locked.errno !== "EAGAIN") return { state: "error", error: error(locked.errno, "flock", display(file.name)) };

      const holder = api.getLock(file.handle);
      const holders = holder.ok && holder.value !== null ? [holderFromLock(holder.value)] : [];
      return { state: "conflict", holders, method: "flock" };
    },
    beginSoleOpener(file): OpenCheck {
      return openProbe(file.dir, file.name, api.pid());
    },
    unlinkHeld(file) {
      const removed = api.unlinkAt(file.dir.handle, file.name);
      if (!removed.ok) throw error(removed.errno, "unlinkat", display(file.name));
    },
    // NOTE: macOS offers no lease here, so an open that starts between
    // beginSoleOpener and the unlink goes unnoticed.
    endSoleOpener: () => false,
    closeCandidate(file) {
      api.close(file.handle);
    },

    createCandidate(dir, name) {
      const opened = api.openAt(dir.handle, name, O.rdwr | O.creat | O.nofollow | O.nonblock | O.noctty | O.cloexec, 0o644);
      if (!opened.ok) throw error(opened.errno, "open", display(name));
      const stat = api.fstat(opened.value);
      if (!stat.ok || kindOfMode(stat.value.mode) !== "file") {
        api.close(opened.value);
        throw stat.ok ? error("EINVAL", "open", display(name)) : error(stat.errno, "fstat", display(name));
      }
      return { dir, name: name.slice(), handle: opened.value };
    },
    writeRecord(file: CandidateHandle, bytes) {
      const written = api.replaceContent(file.handle, bytes);
      if (!written.ok) throw error(written.errno, "write", display(file.name));
    },
  };
  return platform;
}
