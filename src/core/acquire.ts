// The acquisition protocol of `jerrylock with` and the library: a lock file
// that exists only while someone holds it, without losing mutual exclusion.
//
// Removing a lock file on release is unsafe when done naively. A waiter that
// opened the file before the unlink locks the orphaned inode, a newcomer
// creates and locks a new file under the same name, and both believe they
// hold the lock. So every acquisition here
//   1. opens or creates the name relative to the directory handle, without
//      following a symlink and without opening a fifo or a device;
//   2. tries every exclusive lock kind without blocking, and on a conflict
//      closes the file and polls again after an async sleep, so signals and
//      timers keep working while it waits;
//   3. checks that the name still points to the inode it locked, and starts
//      over when it does not (the previous holder or clean removed it);
//   4. writes its owner record, replacing any record a dead holder left.
// A dead holder's OS locks are gone, so its stale file is taken over at step 2
// like any free file; nothing here deletes a file another process may hold.
//
// Release runs the removal protocol of remove.ts on the file it holds: verify
// the inode, prove that no other process has the file open, unlink the name
// while still holding the locks, then close. A file that another process has
// open (a flock(1) waiter, or a py-filelock attempt under way; neither
// re-checks the inode) is emptied and kept, and its next holder removes it.
import { basename, dirname } from "node:path";
import type { CandidateHandle, DirHandle, FileStat, LockHolder, Platform } from "../platform/types.ts";
import { PlatformError } from "../platform/types.ts";
import { formatOwnerRecord, parseOwnerRecord, type OwnerRecordFields } from "./owner-record.ts";
import { LIMITS } from "./defaults.ts";
import { formatDuration } from "./duration.ts";
import { judgeOwnerRecord } from "./classify.ts";
import { sameFile } from "./remove.ts";

/** How long to wait for a lock held by another process. */
export interface AcquireOptions {
  /** false: fail at once with code ELOCKED when another process holds the lock (default true). */
  wait?: boolean;
  /** Give up with code ETIMEDOUT after this many milliseconds of waiting (default: wait forever). */
  timeoutMs?: number;
  /** Aborting it ends the wait with code EABORTED. */
  signal?: AbortSignal;
}

/** Test seams and tuning for the protocol; the CLI and the library use the defaults. */
export interface AcquireContext {
  platform: Platform;
  /** Tool name and version for the owner record, for example "jerrylock 0.1.0". */
  tool: string;
  /** Resolves after `ms` milliseconds; defaults to a timer. */
  sleep?(ms: number): Promise<void>;
  /** First and largest pause between two lock attempts, in milliseconds. */
  pollMinMs?: number;
  pollMaxMs?: number;
  /** Runs between taking the locks and checking the name, so a test can race that step. */
  afterLock?(attempt: number): void;
}

/** Holder of a lock, as far as the lock table and the owner record name one. */
export interface HolderInfo {
  pid: number | null;
  /** Command name of that pid, when readable. */
  command: string | null;
  /** False when the pid that took the lock has exited and a process that inherited its descriptor holds it. */
  alive: boolean | null;
  /** Set when no OS lock but the file's owner record keeps it, for example "owner record names host ..." */
  record?: string;
}

export type LockErrorCode =
  /** Held by another process and `wait` was false. */
  | "ELOCKED"
  /** Held by another process until `timeoutMs` ran out. */
  | "ETIMEDOUT"
  /** The wait was aborted through `signal`. */
  | "EABORTED"
  /** The path is a symlink, which jerrylock never follows. */
  | "ELOOP"
  /** The path exists but is not a regular file (directory, fifo, socket, device). */
  | "ENOTREG"
  /** The file has content that is neither empty nor an owner record, so it is no lock file. */
  | "ENOTLOCK";

/** Failure to acquire a lock; `code` is one of LockErrorCode or the errno name of a failed OS call. */
export class LockError extends Error {
  readonly code: LockErrorCode | string;
  readonly path: string;
  /** Set for ELOCKED and ETIMEDOUT when the holder is known. */
  readonly holder?: HolderInfo;

  constructor(code: LockErrorCode | string, path: string, message: string, holder?: HolderInfo) {
    super(message);
    this.name = "LockError";
    this.code = code;
    this.path = path;
    this.holder = holder;
  }
}

/**
 * Result of a release; the file is kept when removing it could break another
 * process's exclusion. `cause` is "open" when another process has the file
 * open (usually a waiter), "unknown" when that cannot be told, "vanished" or
 * "replaced" when another process removed or replaced the name outside the
 * protocol, and "requested" when the caller passed `keepFile`.
 */
export type ReleaseOutcome =
  /** `warning` is set when another process opened the file while it was being removed. */
  | { removed: true; warning?: string }
  | { removed: false; cause: "open" | "unknown" | "vanished" | "replaced" | "requested"; reason: string };

/** A held lock. The OS locks stay until `release`, or until the process exits. */
export interface HeldLock {
  readonly path: string;
  /** Descriptor (or Windows handle) that carries the locks; a child that inherits it shares them. */
  readonly handle: number;
  /** The owner record written into the file. */
  readonly record: OwnerRecordFields;
  /**
   * Removes the file while still holding the lock, then releases it. Pass
   * `keepFile` with a reason to release without removing (another process
   * may still hold the lock through an inherited descriptor). Calling it
   * again does nothing.
   */
  release(keepFile?: string): Promise<ReleaseOutcome>;
}

const DEFAULT_POLL_MIN_MS = 1;
const DEFAULT_POLL_MAX_MS = 50;
/**
 * Attempts of the sole-opener check at release. A cleaner reading the record
 * or a waiter polling has the file open for microseconds; a second look after
 * a millisecond tells that from a waiter that keeps it open.
 */
const RELEASE_OPEN_ATTEMPTS = 3;

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Acquires the lock file at `path`, creating it when missing; see the protocol above. */
export async function acquireLock(path: string, options: AcquireOptions, context: AcquireContext): Promise<HeldLock> {
  const { platform } = context;
  const name = new Uint8Array(Buffer.from(basename(path)));
  if (name.length === 0 || basename(path) === "." || basename(path) === "..") {
    throw new LockError("EINVAL", path, `invalid lock file path "${path}": give a file name, not a directory`);
  }

  let dir: DirHandle;
  try {
    dir = platform.openDir(dirname(path));
  } catch (error) {
    throw asLockError(error, path, `cannot open the directory of "${path}"`);
  }

  try {
    return await acquireInDir(path, dir, name, options, context);
  } catch (error) {
    platform.closeDir(dir);
    throw error;
  }
}

async function acquireInDir(path: string, dir: DirHandle, name: Uint8Array, options: AcquireOptions, context: AcquireContext): Promise<HeldLock> {
  const { platform } = context;
  const sleep = context.sleep ?? defaultSleep;
  const pollMinMs = context.pollMinMs ?? DEFAULT_POLL_MIN_MS;
  const pollMaxMs = context.pollMaxMs ?? DEFAULT_POLL_MAX_MS;
  const wait = options.wait ?? true;
  const deadline = options.timeoutMs === undefined ? undefined : platform.now() + options.timeoutMs;

  let pauseMs = pollMinMs;
  let lastHolders: LockHolder[] = [];
  let lastRecord: string | undefined;
  for (let attempt = 1; ; attempt += 1) {
    if (options.signal?.aborted) throw new LockError("EABORTED", path, `stopped waiting for the lock "${path}": aborted`);

    const step = tryAcquireOnce(path, dir, name, context, attempt);
    if (step.kind === "acquired") return step.lock;

    if (step.kind === "replaced") {
      // The previous holder or a cleaner removed the name after this process
      // opened it. The file now under the name may be free, so retry at once.
      await sleep(0);
      continue;
    }

    lastHolders = step.holders;
    lastRecord = step.record;
    if (!wait) {
      const holder = describeHolder(platform, dir, name, lastHolders, lastRecord);
      throw new LockError("ELOCKED", path, `lock "${path}" is held${holderText(holder)}`, holder);
    }
    const now = platform.now();
    if (deadline !== undefined && now >= deadline) {
      const holder = describeHolder(platform, dir, name, lastHolders, lastRecord);
      throw new LockError("ETIMEDOUT", path, `timed out after ${formatDuration(options.timeoutMs ?? 0)} waiting for the lock "${path}", held${holderText(holder)}`, holder);
    }

    // Jitter keeps waiters that started together from polling in step.
    const jittered = pauseMs * (0.5 + Math.random() * 0.5);
    await sleep(deadline === undefined ? jittered : Math.max(0, Math.min(jittered, deadline - now)));
    pauseMs = Math.min(pollMaxMs, pauseMs * 2);
  }
}

type AttemptStep =
  | { kind: "acquired"; lock: HeldLock }
  | { kind: "conflict"; holders: LockHolder[]; record?: string }
  | { kind: "replaced" };

/** Runs one pass of steps 1 to 4; the file is closed again unless the lock was acquired. */
function tryAcquireOnce(path: string, dir: DirHandle, name: Uint8Array, context: AcquireContext, attempt: number): AttemptStep {
  const { platform } = context;

  // Checking the kind before opening keeps a fifo or device from ever being
  // opened; the check after opening covers a swap in between.
  const before = statOrThrow(platform, dir, name, path);
  if (before !== null) assertRegular(before, path);

  let file: CandidateHandle;
  try {
    file = platform.createCandidate(dir, name);
  } catch (error) {
    // A non-blocking open fails with EAGAIN while a cleaner has a lease on
    // the file to remove it. The name is about to change, so poll again.
    if (error instanceof PlatformError && (error.code === "EAGAIN" || error.code === "EWOULDBLOCK")) return { kind: "conflict", holders: [] };
    throw asLockError(error, path, `cannot open or create the lock file "${path}"`);
  }

  let keepOpen = false;
  try {
    const opened = platform.statHandle(file);
    assertRegular(opened, path);

    const locked = platform.tryLock(file);
    if (locked.state === "conflict") return { kind: "conflict", holders: locked.holders };
    if (locked.state === "error") throw asLockError(locked.error, path, `cannot lock "${path}"`);

    context.afterLock?.(attempt);

    const current = platform.statAt(dir, name);
    if (current === null || !sameFile(current, opened)) return { kind: "replaced" };

    // The record overwrites the file and release removes it, so only an empty
    // file or an owner record may be taken: never a script, a Cargo.lock or data.
    const owned = checkLockContent(platform, dir, name, current, path);
    if (owned !== null) {
      const holders: LockHolder[] = owned.ownerPid === null ? [] : [{ kind: "record", mode: "write", pid: owned.ownerPid }];
      return { kind: "conflict", holders, record: owned.reason };
    }

    const record = ownerRecordFields(platform, context.tool);
    platform.writeRecord(file, new TextEncoder().encode(formatOwnerRecord(record)));
    keepOpen = true;
    return { kind: "acquired", lock: createHeldLock(path, dir, file, opened, record, context) };
  } catch (error) {
    throw asLockError(error, path, `cannot lock "${path}"`);
  } finally {
    if (!keepOpen) platform.closeCandidate(file);
  }
}

function createHeldLock(path: string, dir: DirHandle, file: CandidateHandle, locked: FileStat, record: OwnerRecordFields, context: AcquireContext): HeldLock {
  const { platform } = context;
  const sleep = context.sleep ?? defaultSleep;
  let released: Promise<ReleaseOutcome> | undefined;

  const release = async (keepFile?: string): Promise<ReleaseOutcome> => {
    try {
      if (keepFile !== undefined) return { removed: false, cause: "requested", reason: keepFile };
      return await removeWhileHeld(platform, dir, file, locked, sleep);
    } finally {
      platform.closeCandidate(file);
      platform.closeDir(dir);
    }
  };

  return {
    path,
    handle: file.handle,
    record,
    release(keepFile) {
      released ??= release(keepFile);
      return released;
    },
  };
}

/**
 * Empties a file that release keeps, while still holding the lock: a record
 * naming this live process would otherwise make the next acquirer, and
 * `clean`, treat the file as owned after the lock is gone.
 */
function keepWithoutOwner(platform: Platform, file: CandidateHandle, cause: "open", reason: string): ReleaseOutcome {
  try {
    platform.writeRecord(file, new Uint8Array(0));
  } catch {
    // Keeping the record only makes the file look owned until this process exits.
  }
  return { removed: false, cause, reason };
}

/** Removes the held file through the removal protocol, or explains why it stays. */
async function removeWhileHeld(platform: Platform, dir: DirHandle, file: CandidateHandle, locked: FileStat, sleep: (ms: number) => Promise<void>): Promise<ReleaseOutcome> {
  const current = platform.statAt(dir, file.name);
  if (current === null) return { removed: false, cause: "vanished", reason: "another process removed the name while the lock was held" };
  if (!sameFile(current, locked)) return { removed: false, cause: "replaced", reason: "another process replaced the file while the lock was held; the new file is left alone" };

  for (let attempt = 1; ; attempt += 1) {
    const openers = platform.beginSoleOpener(file);
    if (openers.state === "closed") break;

    platform.endSoleOpener(file);
    if (openers.state === "unknown") return { removed: false, cause: "unknown", reason: `cannot tell whether another process has it open: ${openers.reason}` };
    if (attempt >= RELEASE_OPEN_ATTEMPTS) {
      const by = openers.pids.length > 0 ? `pid ${openers.pids.join(", ")}` : "another process";
      return keepWithoutOwner(platform, file, "open", `${by} has it open, probably waiting for the lock (checked with ${openers.method})`);
    }
    await sleep(1);
  }

  let openedMeanwhile: boolean;
  try {
    platform.unlinkHeld(file);
  } catch (error) {
    platform.endSoleOpener(file);
    if (error instanceof PlatformError && error.code === "EBUSY") {
      return keepWithoutOwner(platform, file, "open", "another process started opening it during the release");
    }
    throw error;
  }
  openedMeanwhile = platform.endSoleOpener(file);
  if (openedMeanwhile) return { removed: true, warning: "another process opened the file while it was being removed" };
  return { removed: true };
}

function ownerRecordFields(platform: Platform, tool: string): OwnerRecordFields {
  const host = platform.host();
  const pid = platform.selfPid();
  const self = platform.inspectProcess(pid);
  return {
    pid,
    host: host.hostname,
    bootId: host.bootId,
    pidNamespace: host.pidNamespace,
    startId: self.startId,
    startedAtMs: self.startTimeMs,
    tool,
  };
}

/**
 * Names the holder: the pid from the lock table, else the pid of the owner
 * record (an OFD lock has no pid), with its command when readable.
 */
function describeHolder(platform: Platform, dir: DirHandle, name: Uint8Array, holders: LockHolder[], record?: string): HolderInfo | undefined {
  let pid = holders.find((holder) => holder.pid !== null && holder.pid > 0)?.pid ?? null;
  if (pid === null && record === undefined) pid = ownerPidFromRecord(platform, dir, name);
  if (pid === null) return record === undefined ? undefined : { pid: null, command: null, alive: null, record };

  const info = platform.inspectProcess(pid);
  return { pid, command: info.command ?? null, alive: info.liveness === "unknown" ? null : info.liveness === "alive", record };
}

function ownerPidFromRecord(platform: Platform, dir: DirHandle, name: Uint8Array): number | null {
  try {
    const stat = platform.statAt(dir, name);
    if (stat === null || stat.kind !== "file" || stat.size === 0 || stat.size > LIMITS.recordMaxBytes) return null;
    const content = platform.readAt(dir, name, stat, LIMITS.recordMaxBytes);
    if (content === null) return null;
    const parsed = parseOwnerRecord(content, platform.maxPid);
    if (parsed.kind !== "record" || parsed.record.pid <= 0) return null;
    const host = parsed.record.host;
    return host === undefined || host === platform.host().hostname ? parsed.record.pid : null;
  } catch (error) {
    if (error instanceof PlatformError) return null;
    throw error;
  }
}

/** " by pid 1234 (sleep)", or "" when nothing is known. */
export function holderText(holder: HolderInfo | undefined): string {
  if (holder?.record !== undefined) return ` through its owner record, which holds no OS lock (${holder.record})`;
  if (holder === undefined || holder.pid === null) return "";
  if (holder.alive === false) return ` through a descriptor inherited from pid ${holder.pid}, which has exited`;
  return holder.command === null ? ` by pid ${holder.pid}` : ` by pid ${holder.pid} (${holder.command})`;
}

function statOrThrow(platform: Platform, dir: DirHandle, name: Uint8Array, path: string): FileStat | null {
  try {
    return platform.statAt(dir, name);
  } catch (error) {
    throw asLockError(error, path, `cannot read "${path}"`);
  }
}

function assertRegular(stat: FileStat, path: string): void {
  if (stat.kind === "file") return;
  if (stat.kind === "symlink") {
    throw new LockError("ELOOP", path, `lock file "${path}" is a symlink, which jerrylock never follows: lock the target path or remove the symlink`);
  }
  throw new LockError("ENOTREG", path, `lock file "${path}" is a ${stat.kind}, not a regular file: choose another path`);
}

/**
 * Checks, under the OS locks, that the file may be taken: it must be a lock
 * file by the rules of `clean` (otherwise ENOTLOCK), and an owner record in
 * it must not name a live process or another host, because tools such as
 * lockfile-progs and git's gc.pid hold their lock through the record alone.
 * Returns the owner pid that still owns it, or null when it is free to take.
 */
function checkLockContent(platform: Platform, dir: DirHandle, name: Uint8Array, stat: FileStat, path: string): { ownerPid: number | null; reason: string } | null {
  const advice = `the lock overwrites the file and removes it on release, so give it a path of its own, such as "${path}.lock"`;
  if (stat.nlink > 1) {
    throw new LockError("ENOTLOCK", path, `"${path}" is not a lock file (it has ${stat.nlink} hard links, so other names refer to it): ${advice}`);
  }
  if (stat.size > LIMITS.recordMaxBytes) {
    throw new LockError("ENOTLOCK", path, `"${path}" is not a lock file (${stat.size} bytes, more than an owner record): ${advice}`);
  }
  if (stat.size === 0) return null;

  const content = platform.readAt(dir, name, stat, LIMITS.recordMaxBytes);
  if (content === null) return null;
  const parsed = parseOwnerRecord(content, platform.maxPid);
  if (parsed.kind === "unrecognised") throw new LockError("ENOTLOCK", path, `"${path}" is not a lock file (${parsed.reason}): ${advice}`);
  if (parsed.kind === "partial") return { ownerPid: null, reason: "another process is writing its owner record" };
  if (parsed.kind !== "record" || parsed.record.pid === 0) return null;

  const judged = judgeOwnerRecord(parsed.record, stat, platform, platform.host());
  if (judged.verdict === "stale") return null;
  // A pid of another host or pid namespace means nothing here, so none is named.
  return { ownerPid: judged.verdict === "foreign" ? null : parsed.record.pid, reason: judged.reason };
}

function asLockError(error: unknown, path: string, action: string): LockError {
  if (error instanceof LockError) return error;
  if (error instanceof PlatformError) {
    if (error.code === "ELOOP") {
      return new LockError("ELOOP", path, `lock file "${path}" is a symlink, which jerrylock never follows: lock the target path or remove the symlink`);
    }
    if (error.code === "ENOTREG") {
      return new LockError("ENOTREG", path, `lock file "${path}" is not a regular file (${error.message}): choose another path`);
    }
    return new LockError(error.code, path, `${action}: ${error.message}`);
  }
  throw error;
}
