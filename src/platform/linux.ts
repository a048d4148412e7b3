// Linux implementation of the Platform interface (glibc and musl).
//
// Held locks come from /proc/locks, which lists flock, POSIX, OFD locks and
// leases by device and inode; fcntl alone never sees flock locks and flock
// never sees POSIX locks. The removal protocol takes both kinds itself and
// proves "nobody else has it open" with a write lease, falling back to a
// /proc/*/fd scan where leases are not permitted.
import { ptr } from "bun:ffi";
import { constants, readFileSync, readdirSync, readlinkSync, readSync, statSync, writeSync, ftruncateSync } from "node:fs";
import { hostname } from "node:os";
import { cString, LINUX_ERRNO, linuxLibcPath, openLibc } from "./libc.ts";
import {
  PlatformError,
  type CandidateHandle,
  type DirHandle,
  type FileKind,
  type FileStat,
  type HeldCheck,
  type HostIdentity,
  type LockAttempt,
  type LockHolder,
  type OpenCheck,
  type Platform,
  type ProbeScan,
  type ProcessInfo,
} from "./types.ts";

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_EMPTY_PATH = 0x1000;
const STATX_BASIC_STATS = 0x7ff;
// O_NOFOLLOW and O_DIRECTORY differ between x86_64 and aarch64; Node's
// constants carry the values of the architecture this build runs on.
const O_RDONLY = 0;
const O_RDWR = 2;
const O_CREAT = 0o100;
const O_EXCL = 0o200;
const O_PATH = 0o10000000;
const O_NOCTTY = 0o400;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const O_NOFOLLOW = constants.O_NOFOLLOW;
const O_DIRECTORY = constants.O_DIRECTORY;

const LOCK_EX = 2;
const LOCK_NB = 4;
const F_SETSIG = 10;
const F_SETLEASE = 1024;
const F_GETLEASE = 1025;
const F_OFD_GETLK = 36;
const F_OFD_SETLK = 37;
const F_RDLCK = 0;
const F_WRLCK = 1;
const F_UNLCK = 2;
// A lease break is signalled to the lease holder, by default with SIGIO,
// whose default action kills the process. SIGURG is ignored by default.
const SIGURG = 23;
const SC_CLK_TCK = 2;

const SYS_STATX: Record<string, number> = { x64: 332, arm64: 291 };

const libc = openLibc(
  linuxLibcPath(),
  {
    openat: { args: ["i32", "ptr", "i32", "u32"], returns: "i32" },
    close: { args: ["i32"], returns: "i32" },
    flock: { args: ["i32", "i32"], returns: "i32" },
    fcntl: { args: ["i32", "i32", "i64"], returns: "i32" },
    unlinkat: { args: ["i32", "ptr", "i32"], returns: "i32" },
    syscall: { args: ["i64", "i64", "ptr", "i32", "u32", "ptr"], returns: "i64" },
    kill: { args: ["i32", "i32"], returns: "i32" },
    getpid: { args: [], returns: "i32" },
    sysconf: { args: ["i32"], returns: "i64" },
  },
  "__errno_location",
  LINUX_ERRNO,
);
const sys = libc.symbols;

interface LinuxCandidate extends CandidateHandle {
  leaseHeld: boolean;
  /** Stat taken through the O_PATH descriptor just before the reopen; used once. */
  openedStat?: FileStat;
}

export function createLinuxPlatform(): Platform {
  const statxNumber = SYS_STATX[process.arch];
  const clockTicks = Number(sys.sysconf(SC_CLK_TCK)) || 100;
  const bootTimeMs = readBootTimeMs();
  const selfPid = sys.getpid();
  let hostIdentity: HostIdentity | undefined;

  // statx through syscall(): its struct layout is the same on every
  // architecture, unlike struct stat, and it reports device major and minor
  // in the notation of /proc/locks.
  const statxBuffer = new Uint8Array(256);
  const statxView = new DataView(statxBuffer.buffer);
  const emptyPath = cString("");

  function statx(dirHandle: number, name: Buffer, flags: number, what: () => string): FileStat | null {
    if (statxNumber === undefined) throw new PlatformError("ENOSYS", "statx", what(), `no statx number for ${process.arch}`);
    const result = Number(sys.syscall(statxNumber, dirHandle, name, flags, STATX_BASIC_STATS, statxBuffer));
    if (result !== 0) {
      const error = libc.fail("statx", what);
      if (error.code === "ENOENT" || error.code === "ENOTDIR") return null;
      throw error;
    }
    return decodeStatx(statxView);
  }

  function statHandleNumber(fd: number, what: () => string): FileStat {
    const stat = statx(fd, emptyPath, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, what);
    if (stat === null) throw new PlatformError("ENOENT", "fstat", what());
    return stat;
  }

  /**
   * Opens a regular file without ever opening anything else: the name is
   * first opened with O_PATH, which opens no fifo or device, and only after
   * its fstat says "regular file" is that very inode reopened through
   * /proc/self/fd. Opening by name directly would open whatever replaced the
   * file since its verdict. Throws ELOOP for a symlink, ENOTREG for any other
   * kind; returns null when the name is gone.
   */
  function openAt(dir: DirHandle, name: Uint8Array, flags: number): { fd: number; stat: FileStat } | null {
    const pathFd = sys.openat(dir.handle, cString(name), O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
    if (pathFd < 0) {
      const error = libc.fail("open", () => displayName(dir, name));
      if (error.code === "ENOENT") return null;
      throw error;
    }
    try {
      const stat = statHandleNumber(pathFd, () => displayName(dir, name));
      if (stat.kind === "symlink") throw new PlatformError("ELOOP", "open", displayName(dir, name), "a symlink");
      if (stat.kind !== "file") throw new PlatformError("ENOTREG", "open", displayName(dir, name), `a ${stat.kind}`);

      const fd = sys.openat(AT_FDCWD, cString(`/proc/self/fd/${pathFd}`), flags | O_CLOEXEC, 0);
      if (fd < 0) throw libc.fail("open", () => displayName(dir, name));
      return { fd, stat };
    } finally {
      sys.close(pathFd);
    }
  }

  function holdersFromLocksTable(stat: FileStat): LockHolder[] {
    const table = readLocksTable();
    return table.byDevIno.get(`${stat.dev}:${stat.ino}`) ?? [];
  }

  const platform: Platform = {
    os: "linux",
    target: `linux-${process.arch}`,
    maxPid: 4194304,

    host() {
      hostIdentity ??= {
        hostname: hostname(),
        bootId: readTrimmed("/proc/sys/kernel/random/boot_id"),
        pidNamespace: readLinkOrUndefined("/proc/self/ns/pid"),
      };
      return hostIdentity;
    },
    selfPid: () => selfPid,
    now: () => Date.now(),

    openDir(path) {
      const fd = sys.openat(AT_FDCWD, cString(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
      if (fd < 0) throw libc.fail("open directory", path);
      return { path, handle: fd };
    },
    openSubdir(dir, name, displayPath) {
      const fd = sys.openat(dir.handle, cString(name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
      if (fd < 0) throw libc.fail("open directory", displayPath);
      return { path: displayPath, handle: fd };
    },
    closeDir(dir) {
      sys.close(dir.handle);
    },
    listDir(dir) {
      // /proc/self/fd/N names the directory this descriptor has open, wherever
      // the original path points by now.
      try {
        return readdirSync(`/proc/self/fd/${dir.handle}`, { encoding: "buffer" });
      } catch (error) {
        throw fromNodeError(error, "list directory", dir.path);
      }
    },
    statAt(dir, name) {
      return statx(dir.handle, cString(name), AT_SYMLINK_NOFOLLOW, () => displayName(dir, name));
    },
    readAt(dir, name, expected, maxBytes) {
      const openedFile = openAt(dir, name, O_RDONLY | O_NONBLOCK | O_NOCTTY);
      if (openedFile === null) return null;
      const { fd, stat: opened } = openedFile;
      try {
        if (opened.dev !== expected.dev || opened.ino !== expected.ino) return null;
        const buffer = Buffer.alloc(maxBytes + 1);
        let length = 0;
        while (length < buffer.length) {
          const count = readSync(fd, buffer, length, buffer.length - length, length);
          if (count === 0) break;
          length += count;
        }
        return buffer.subarray(0, length);
      } catch (error) {
        if (error instanceof PlatformError) throw error;
        throw fromNodeError(error, "read", displayName(dir, name));
      } finally {
        sys.close(fd);
      }
    },

    beginScan(dir) {
      return createProbeScan(dir, selfPid);
    },
    inspectProcess(pid) {
      return inspectLinuxProcess(pid, clockTicks, bootTimeMs);
    },

    openCandidate(dir, name) {
      const opened = openAt(dir, name, O_RDWR | O_NONBLOCK | O_NOCTTY);
      if (opened === null) return null;
      const candidate: LinuxCandidate = { dir, name, handle: opened.fd, leaseHeld: false, openedStat: opened.stat };
      return candidate;
    },
    statHandle(file) {
      // The O_PATH descriptor's stat describes the very inode that was then
      // reopened, so the first call after opening costs no syscall.
      const candidate = file as LinuxCandidate;
      const cached = candidate.openedStat;
      candidate.openedStat = undefined;
      return cached ?? statHandleNumber(file.handle, () => displayName(file.dir, file.name));
    },
    tryLock(file) {
      return tryLockLinux(file, () => holdersFromLocksTable(platform.statHandle(file)));
    },
    beginSoleOpener(file) {
      const candidate = file as LinuxCandidate;
      sys.fcntl(file.handle, F_SETSIG, SIGURG);
      if (sys.fcntl(file.handle, F_SETLEASE, F_WRLCK) === 0) {
        candidate.leaseHeld = true;
        return { state: "closed", method: "a write lease" };
      }
      const error = libc.fail("fcntl(F_SETLEASE)", () => displayName(file.dir, file.name));
      if (error.code === "EAGAIN") return { state: "open", pids: [], method: "a write lease" };

      // Leases need file ownership or CAP_LEASE and a filesystem that has them.
      const stat = platform.statHandle(file);
      const scan = scanOpenFiles(selfPid);
      const pids = scan.byDevIno.get(`${stat.dev}:${stat.ino}`) ?? [];
      const method = `/proc/*/fd (a lease was refused: ${error.code})`;
      if (pids.length > 0) return { state: "open", pids, method };
      if (scan.unreadable > 0) return { state: "unknown", method, reason: `${scan.unreadable} processes' descriptors are unreadable and a lease was refused (${error.code}); run as the file's owner or root` };
      return { state: "closed", method, fallback: true };
    },
    unlinkHeld(file) {
      // A lease break that is already pending means another process is in the
      // middle of opening the file; it would get the removed inode. Checking
      // right before the unlink leaves only the time between two syscalls.
      const candidate = file as LinuxCandidate;
      if (candidate.leaseHeld && sys.fcntl(file.handle, F_GETLEASE, 0) !== F_WRLCK) {
        throw new PlatformError("EBUSY", "unlink", displayName(file.dir, file.name), "another process is opening it");
      }
      if (sys.unlinkat(file.dir.handle, cString(file.name), 0) !== 0) throw libc.fail("unlink", () => displayName(file.dir, file.name));
    },
    endSoleOpener(file) {
      const candidate = file as LinuxCandidate;
      if (!candidate.leaseHeld) return false;
      // During a lease break F_GETLEASE reports the type the lease is being
      // broken to, so anything but F_WRLCK means another process opened it.
      const type = sys.fcntl(file.handle, F_GETLEASE, 0);
      sys.fcntl(file.handle, F_SETLEASE, F_UNLCK);
      candidate.leaseHeld = false;
      return type !== F_WRLCK;
    },
    closeCandidate(file) {
      sys.close(file.handle);
    },

    createCandidate(dir, name) {
      // An existing file is opened only after O_PATH proves it regular; a new
      // one is created with O_EXCL, which cannot open anything else either.
      for (;;) {
        const existing = openAt(dir, name, O_RDWR | O_NONBLOCK | O_NOCTTY);
        if (existing !== null) return { dir, name, handle: existing.fd, leaseHeld: false, openedStat: existing.stat } satisfies LinuxCandidate;

        const created = sys.openat(dir.handle, cString(name), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0o644);
        if (created >= 0) return { dir, name, handle: created, leaseHeld: false } satisfies LinuxCandidate;
        const error = libc.fail("open", () => displayName(dir, name));
        if (error.code !== "EEXIST") throw error;
      }
    },
    writeRecord(file, bytes) {
      // Truncating first means a reader sees the old record, an empty file or
      // the new record, never the new record followed by the old one's tail.
      try {
        ftruncateSync(file.handle, 0);
        writeSync(file.handle, bytes, 0, bytes.length, 0);
      } catch (error) {
        throw fromNodeError(error, "write", displayName(file.dir, file.name));
      }
    },
  };
  return platform;
}

// struct flock for F_OFD_SETLK and F_OFD_GETLK, reused because every call is synchronous.
const flockStruct = new Uint8Array(32);
const flockView = new DataView(flockStruct.buffer);
const flockAddress = ptr(flockStruct);

function prepareWriteLock(): void {
  flockStruct.fill(0);
  flockView.setInt16(0, F_WRLCK, true);
}

function tryLockLinux(file: CandidateHandle, lookUpHolders: () => LockHolder[]): LockAttempt {
  if (sys.flock(file.handle, LOCK_EX | LOCK_NB) !== 0) {
    const error = libc.fail("flock", () => displayName(file.dir, file.name));
    if (error.code !== "EAGAIN") return { state: "error", error };
    return { state: "conflict", holders: lookUpHolders(), method: "flock" };
  }

  // An OFD write lock conflicts with POSIX record locks (lockf, fcntl) and
  // other OFD locks, whichever process holds them, including this one.
  prepareWriteLock();
  if (sys.fcntl(file.handle, F_OFD_SETLK, flockAddress) === 0) return { state: "locked" };

  const error = libc.fail("fcntl(F_OFD_SETLK)", () => displayName(file.dir, file.name));
  if (error.code !== "EAGAIN" && error.code !== "EACCES") return { state: "error", error };
  prepareWriteLock();
  sys.fcntl(file.handle, F_OFD_GETLK, flockAddress);
  const pid = flockView.getInt32(24, true);
  const type = flockView.getInt16(0, true);
  const holders: LockHolder[] =
    type === F_UNLCK ? lookUpHolders() : [{ kind: pid > 0 ? "posix" : "ofd", mode: type === F_RDLCK ? "read" : "write", pid: pid > 0 ? pid : null }];
  return { state: "conflict", holders, method: "fcntl(F_OFD_SETLK)" };
}

function decodeStatx(view: DataView): FileStat {
  const mode = view.getUint16(28, true);
  const mtimeSeconds = Number(view.getBigInt64(112, true));
  const mtimeNanoseconds = view.getUint32(120, true);
  return {
    kind: kindFromMode(mode),
    dev: `${view.getUint32(136, true)}:${view.getUint32(140, true)}`,
    ino: view.getBigUint64(32, true),
    size: Number(view.getBigUint64(40, true)),
    mtimeMs: mtimeSeconds * 1000 + mtimeNanoseconds / 1e6,
    nlink: view.getUint32(16, true),
    uid: view.getUint32(20, true),
  };
}

function kindFromMode(mode: number): FileKind {
  switch (mode & 0o170000) {
    case 0o100000:
      return "file";
    case 0o040000:
      return "directory";
    case 0o120000:
      return "symlink";
    case 0o010000:
      return "fifo";
    case 0o140000:
      return "socket";
    case 0o020000:
      return "char-device";
    case 0o060000:
      return "block-device";
    default:
      return "unknown";
  }
}

// /proc/locks: "N: [-> ]KIND MODE READ|WRITE PID MAJ:MIN:INODE START END",
// with MAJ:MIN in hex. Lines after "->" are blocked waiters, not holders.
interface LocksTable {
  byDevIno: Map<string, LockHolder[]>;
  /** Inode to devices with locks, to notice filesystems whose lock device differs from stat's. */
  byIno: Map<bigint, string[]>;
}

/** Lock kinds as /proc/locks names them; LEASE and DELEG entries count as leases. */
const PROC_LOCKS_KINDS: Record<string, LockHolder["kind"]> = { FLOCK: "flock", OFDLCK: "ofd", POSIX: "posix" };

export function parseProcLocks(text: string): LocksTable {
  const byDevIno = new Map<string, LockHolder[]>();
  const byIno = new Map<bigint, string[]>();
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 6 || fields[1] === "->") continue;
    const [, kindText, , modeText, pidText, location] = fields as [string, string, string, string, string, string];
    const match = /^([0-9a-f]+):([0-9a-f]+):(\d+)$/i.exec(location);
    if (match === null) continue;
    const dev = `${parseInt(match[1]!, 16)}:${parseInt(match[2]!, 16)}`;
    const ino = BigInt(match[3]!);
    const kind = PROC_LOCKS_KINDS[kindText] ?? "lease";
    const pid = Number(pidText);
    const holder: LockHolder = { kind, mode: modeText === "READ" ? "read" : "write", pid: pid > 0 ? pid : null };
    const key = `${dev}:${ino}`;
    byDevIno.set(key, [...(byDevIno.get(key) ?? []), holder]);
    byIno.set(ino, [...(byIno.get(ino) ?? []), dev]);
  }
  return { byDevIno, byIno };
}

function readLocksTable(): LocksTable {
  return parseProcLocks(readFileSync("/proc/locks", "utf8"));
}

interface OpenFilesScan {
  byDevIno: Map<string, number[]>;
  /** Processes whose /proc/PID/fd could not be read (other users' processes, for non-root). */
  unreadable: number;
}

/** Maps every regular file that any other process has open to the pids that have it open. */
function scanOpenFiles(selfPid: number): OpenFilesScan {
  const byDevIno = new Map<string, number[]>();
  let unreadable = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === selfPid) continue;
    let descriptors: string[];
    try {
      descriptors = readdirSync(`/proc/${pid}/fd`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") unreadable += 1;
      continue;
    }
    for (const descriptor of descriptors) {
      const link = `/proc/${pid}/fd/${descriptor}`;
      let target: string;
      try {
        target = readlinkSync(link);
      } catch {
        continue;
      }
      // Pipes, sockets and anonymous inodes read as "pipe:[N]" and the like.
      if (!target.startsWith("/") || target.startsWith("/dev/") || target.startsWith("/proc/")) continue;
      try {
        const stat = statSync(link, { bigint: true });
        if (!stat.isFile()) continue;
        const key = `${devMajorMinor(stat.dev)}:${stat.ino}`;
        const pids = byDevIno.get(key) ?? [];
        if (!pids.includes(pid)) pids.push(pid);
        byDevIno.set(key, pids);
      } catch {
        continue;
      }
    }
  }
  return { byDevIno, unreadable };
}

function createProbeScan(_dir: DirHandle, selfPid: number): ProbeScan {
  let locks: LocksTable | Error | undefined;
  let openFiles: OpenFilesScan | undefined;

  return {
    held(stat): HeldCheck {
      if (locks === undefined) {
        try {
          locks = readLocksTable();
        } catch (error) {
          locks = error as Error;
        }
      }
      if (locks instanceof Error) return { state: "unknown", method: "/proc/locks", reason: `cannot read /proc/locks: ${(locks as NodeJS.ErrnoException).code ?? locks.message}` };

      const holders = locks.byDevIno.get(`${stat.dev}:${stat.ino}`);
      if (holders !== undefined) return { state: "held", holders, method: "/proc/locks" };
      const otherDevices = locks.byIno.get(stat.ino);
      if (otherDevices !== undefined) {
        // btrfs and overlayfs can list a lock under another device number than
        // stat reports; keeping the file is the safe reading.
        return { state: "held", holders: [], method: `/proc/locks, matched by inode ${stat.ino} on device ${otherDevices.join(", ")} only` };
      }
      return { state: "free", method: "/proc/locks" };
    },
    open(stat): OpenCheck {
      openFiles ??= scanOpenFiles(selfPid);
      const pids = openFiles.byDevIno.get(`${stat.dev}:${stat.ino}`);
      if (pids !== undefined) return { state: "open", pids, method: "/proc/*/fd" };
      if (openFiles.unreadable > 0) {
        return { state: "unknown", method: "/proc/*/fd", reason: `${openFiles.unreadable} processes' descriptors are unreadable; clean re-checks with a lease` };
      }
      return { state: "closed", method: "/proc/*/fd" };
    },
  };
}

function inspectLinuxProcess(pid: number, clockTicks: number, bootTimeMs: number | undefined): ProcessInfo {
  if (!Number.isInteger(pid) || pid <= 0) return { liveness: "unknown", detail: `invalid pid ${pid}` };

  let detail: string | undefined;
  if (sys.kill(pid, 0) !== 0) {
    const code = libc.errnoName(libc.errno());
    if (code === "ESRCH") return { liveness: "dead" };
    if (code !== "EPERM") return { liveness: "unknown", detail: `kill(${pid}, 0) failed: ${code}` };
    detail = "EPERM from kill(pid, 0): alive, owned by another user";
  }

  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { liveness: "dead" };
    return { liveness: "alive", detail: detail ?? `cannot read /proc/${pid}/stat` };
  }

  // The command name is in parentheses and may itself contain ") ".
  const close = stat.lastIndexOf(")");
  const command = stat.slice(stat.indexOf("(") + 1, close);
  const fields = stat.slice(close + 2).split(" ");
  const state = fields[0];
  // A zombie has exited and closed its descriptors; only its parent has not
  // reaped it. A thread-group leader that called pthread_exit also shows "Z"
  // while its other threads run on, so the thread count decides.
  if ((state === "Z" || state === "X") && threadCount(pid) <= 1) return { liveness: "dead", command };

  const startTicks = fields[19];
  const info: ProcessInfo = { liveness: "alive", command, detail };
  if (startTicks !== undefined && /^\d+$/.test(startTicks)) {
    info.startId = startTicks;
    if (bootTimeMs !== undefined) info.startTimeMs = bootTimeMs + (Number(startTicks) * 1000) / clockTicks;
  }
  return info;
}

function threadCount(pid: number): number {
  try {
    const match = /^Threads:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match?.[1] === undefined ? 1 : Number(match[1]);
  } catch {
    return 1;
  }
}

function readBootTimeMs(): number | undefined {
  try {
    const match = /^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"));
    return match?.[1] === undefined ? undefined : Number(match[1]) * 1000;
  } catch {
    return undefined;
  }
}

function readTrimmed(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
}

function readLinkOrUndefined(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** Linux dev_t to "MAJOR:MINOR", as glibc's major() and minor() decode it. */
export function devMajorMinor(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n);
  const minor = (dev & 0xffn) | ((dev >> 12n) & 0xffffff00n);
  return `${major}:${minor}`;
}

function displayName(dir: DirHandle, name: Uint8Array): string {
  return `${dir.path.replace(/\/$/, "")}/${Buffer.from(name).toString("utf8")}`;
}

function fromNodeError(error: unknown, syscall: string, path: string): PlatformError {
  const code = (error as NodeJS.ErrnoException).code ?? "EIO";
  return new PlatformError(code, syscall, path);
}

