// The one interface between jerrylock's rules and the operating system.
//
// `src/core` decides verdicts and runs the removal protocol through this
// interface only, so the same rules run against Linux, macOS, Windows and the
// fake used in unit tests. Every probe that can fail to decide returns an
// explicit "unknown" (or throws a PlatformError), never a guess.

/** Kind of a directory entry, as seen without following a symlink. */
export type FileKind =
  | "file"
  | "directory"
  | "symlink"
  | "fifo"
  | "socket"
  | "char-device"
  | "block-device"
  | "unknown";

/** Metadata of one file, read without following a symlink. */
export interface FileStat {
  kind: FileKind;
  /** Device key in the platform's own notation; Linux uses "MAJOR:MINOR" in decimal. */
  dev: string;
  ino: bigint;
  size: number;
  mtimeMs: number;
  nlink: number;
  uid: number;
}

/** An open directory; every file operation of a scan is relative to it. */
export interface DirHandle {
  /** Path as the user gave it, for messages only. */
  readonly path: string;
  /** Descriptor or handle number, opaque to the core. */
  readonly handle: number;
}

/** An open descriptor on one candidate lock file, used by the removal protocol. */
export interface CandidateHandle {
  readonly dir: DirHandle;
  readonly name: Uint8Array;
  readonly handle: number;
}

export type LockKind = "flock" | "posix" | "ofd" | "lease" | "windows" | "record";

/** One holder of an OS lock on a file; `pid` is null where the OS does not name it. */
export interface LockHolder {
  kind: LockKind;
  mode: "read" | "write";
  pid: number | null;
}

/** Result of asking whether an OS lock is held, without taking one. */
export type HeldCheck =
  | { state: "held"; holders: LockHolder[]; method: string }
  | { state: "free"; method: string }
  | { state: "unknown"; method: string; reason: string };

/** Result of asking whether another process has the file open. */
export type OpenCheck =
  | { state: "open"; pids: number[]; method: string }
  /** `fallback` marks a check that is weaker than the platform's usual one, so reports say which was used. */
  | { state: "closed"; method: string; fallback?: boolean }
  | { state: "unknown"; method: string; reason: string };

/** Result of trying to take every exclusive lock kind without blocking. */
export type LockAttempt =
  | { state: "locked" }
  | { state: "conflict"; holders: LockHolder[]; method: string }
  | { state: "error"; error: PlatformError };

export type Liveness = "alive" | "dead" | "unknown";

/** Report of the OS about one pid. */
export interface ProcessInfo {
  liveness: Liveness;
  /** Reason liveness is unknown, or a detail worth showing (for example "EPERM from kill"). */
  detail?: string;
  /** Process start time in ms since the epoch, precise to about a second. */
  startTimeMs?: number;
  /** Exact start token that is unique per pid within one boot (Linux: start time in clock ticks). */
  startId?: string;
  /** Short command name, when readable. */
  command?: string;
}

/** Identity of this machine and this pid namespace, for owner records. */
export interface HostIdentity {
  hostname: string;
  /** Changes at every boot; undefined where the OS gives no such value. */
  bootId?: string;
  /** Linux pid namespace, for example "pid:[4026531836]". */
  pidNamespace?: string;
}

/**
 * Per-run probe state: `/proc/locks` and the open-file scan are read once per
 * run, not once per file. Neither method takes a lease; on Linux neither takes
 * a lock (see each platform for what it must do instead).
 *
 * `name` is the entry the stat came from and `dir` the directory that contains
 * it (a subdirectory with --recursive). macOS and Windows have no system-wide
 * lock table, so they probe by opening that name and return "unknown" when it
 * is not given.
 */
export interface ProbeScan {
  held(stat: FileStat, name?: Uint8Array, dir?: DirHandle): HeldCheck;
  open(stat: FileStat, name?: Uint8Array, dir?: DirHandle): OpenCheck;
}

/** Error from an OS call, with a machine-readable code (errno name or Win32 name). */
export class PlatformError extends Error {
  readonly code: string;
  readonly syscall: string;
  readonly path?: string;

  constructor(code: string, syscall: string, path?: string, detail?: string) {
    const where = path === undefined ? "" : ` "${path}"`;
    super(`${syscall}${where} failed: ${code}${detail ? ` (${detail})` : ""}`);
    this.name = "PlatformError";
    this.code = code;
    this.syscall = syscall;
    this.path = path;
  }
}

/**
 * Everything the core needs from an operating system. Methods throw
 * PlatformError for failures the caller must report; ENOENT-like results are
 * returned as null where the caller treats "gone" as a normal outcome.
 */
export interface Platform {
  readonly os: "linux" | "darwin" | "windows" | "fake";
  /** Bun compile target this build runs as, for example "linux-x64". */
  readonly target: string;

  host(): HostIdentity;
  selfPid(): number;
  now(): number;

  // Directory access. The directory is opened once; later calls are relative
  // to the handle, so a path swapped for a symlink mid-run cannot redirect them.
  openDir(path: string): DirHandle;
  closeDir(dir: DirHandle): void;
  /** Open a subdirectory of `dir` without following a symlink, for --recursive. */
  openSubdir(dir: DirHandle, name: Uint8Array, displayPath: string): DirHandle;
  /** Raw entry names, excluding "." and "..". */
  listDir(dir: DirHandle): Uint8Array[];
  /** Stat an entry without following a symlink; null when it does not exist. */
  statAt(dir: DirHandle, name: Uint8Array): FileStat | null;
  /**
   * Read at most maxBytes of a regular file without following a symlink and
   * without blocking on a fifo, and only if it is still the file `expected`
   * describes. Returns null when it changed or vanished.
   */
  readAt(dir: DirHandle, name: Uint8Array, expected: FileStat, maxBytes: number): Uint8Array | null;

  beginScan(dir: DirHandle): ProbeScan;
  inspectProcess(pid: number): ProcessInfo;
  /** Largest valid pid on this OS; owner records naming a larger one are invalid. */
  readonly maxPid: number;

  // Removal protocol primitives. The order is fixed by src/core/remove.ts.
  /** Open without following a symlink and without blocking; null when gone. */
  openCandidate(dir: DirHandle, name: Uint8Array): CandidateHandle | null;
  statHandle(file: CandidateHandle): FileStat;
  /** Take every exclusive lock kind the platform has, without blocking. */
  tryLock(file: CandidateHandle): LockAttempt;
  /**
   * Prove that no other process has the file open, and keep that proof armed
   * (Linux: a write lease) until endSoleOpener, so an open that starts later is noticed.
   */
  beginSoleOpener(file: CandidateHandle): OpenCheck;
  /** Remove the name while the locks are held. */
  unlinkHeld(file: CandidateHandle): void;
  /** Disarm the proof; returns true when another process opened the file meanwhile. */
  endSoleOpener(file: CandidateHandle): boolean;
  closeCandidate(file: CandidateHandle): void;

  // Lock acquisition primitives for `with` and the library.
  /**
   * Open or create (mode 0644) without following a symlink; the handle is
   * close-on-exec. Throws PlatformError, with code ELOOP for a symlink.
   */
  createCandidate(dir: DirHandle, name: Uint8Array): CandidateHandle;
  /** Replace the file's whole content with `bytes` in one write; the caller holds the lock. */
  writeRecord(file: CandidateHandle, bytes: Uint8Array): void;
}

/** Result of a non-blocking wait for one specific child process. */
export type ReapResult = "reaped" | "running" | "not-child";

/**
 * The OS calls `jerrylock run` needs to supervise a command: signals, orphan
 * reaping, the terminal's foreground group and exact exit codes. The core
 * never uses them, so they live apart from Platform.
 */
export interface ProcessControl {
  readonly os: "linux" | "darwin" | "windows";
  /** False on Windows, where the wrapper forwards nothing and only waits. */
  readonly hasSignals: boolean;
  /**
   * Makes orphaned descendants reparent to this process (Linux
   * PR_SET_CHILD_SUBREAPER). Returns false where the OS has no such feature;
   * throws PlatformError when the call fails.
   */
  becomeSubreaper(): boolean;
  /** Pids whose parent is `pid`, running or zombie; null where the OS cannot list them. */
  listChildren(pid: number): number[] | null;
  /**
   * Reaps `pid` if it has exited, without blocking. Call it only for pids the
   * runtime did not spawn, or the runtime loses its child's exit status.
   */
  reapIfExited(pid: number): ReapResult;
  /** Sends `signal` to one process; returns false when the process no longer exists. */
  sendSignal(pid: number, signal: NodeJS.Signals): boolean;
  /** True when this process has a controlling terminal and is in its foreground process group. */
  isTerminalForeground(): boolean;
  /**
   * Starts watching `pid` so its full exit code can be read after it exits;
   * null where the runtime already reports the exact code (POSIX).
   */
  watchExitCode(pid: number): (() => number | null) | null;
  /** Ends this process with `code`, all 32 bits of it on Windows. */
  exit(code: number): never;
}
