// The removal protocol: the only way jerrylock deletes a lock file.
//
// A verdict is a snapshot; by the time clean acts on it a client may have
// locked, opened, rewritten or replaced the file. So the file is removed only
// while jerrylock itself holds every lock kind on the very inode the verdict
// was about, and only while no other process has it open:
//   1. open the name without following a symlink and without blocking;
//   2. check that the open file is the inode, size and mtime of the verdict;
//   3. take the flock and the POSIX/OFD lock without blocking;
//   4. check that the name still points to that inode, still unchanged;
//   5. prove that no other process has it open (Linux: a write lease) and keep
//      that proof armed across the unlink, so a late opener is noticed;
//   6. unlink the name while holding the locks, then close.
// Clients that follow the lock protocol cannot change the name while step 6
// runs, because they would need the locks that jerrylock holds.
import type { CandidateHandle, FileStat, Platform } from "../platform/types.ts";
import { PlatformError } from "../platform/types.ts";
import type { LockEntry } from "./classify.ts";
import type { Verdict } from "./verdicts.ts";

export type RemovalOutcome =
  /** `note` names the open check when it was a fallback, so that the report can name it. */
  | { removed: true; warning?: string; note?: string }
  /** Kept; `verdict` is set when the protocol found a reason that has a verdict (held, open). */
  | { removed: false; reason: string; verdict?: Verdict; failed: boolean };

/** Test seam: runs between protocol steps so a test can race the protocol deterministically. */
export interface RemovalHooks {
  beforeOpen?(entry: LockEntry): void;
  afterOpen?(entry: LockEntry): void;
  afterLock?(entry: LockEntry): void;
}

export function sameFile(a: FileStat, b: FileStat): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

function unchanged(a: FileStat, b: FileStat): boolean {
  return sameFile(a, b) && a.size === b.size && a.mtimeMs === b.mtimeMs && a.nlink === b.nlink;
}

const kept = (reason: string, verdict?: Verdict): RemovalOutcome => ({ removed: false, reason, verdict, failed: false });

/** Removes one file through the protocol, or explains why it was kept. */
export function removeThroughProtocol(platform: Platform, entry: LockEntry, hooks: RemovalHooks = {}): RemovalOutcome {
  let file: CandidateHandle | null;
  try {
    hooks.beforeOpen?.(entry);
    file = platform.openCandidate(entry.dir, entry.name);
  } catch (error) {
    return failure("open", error);
  }
  if (file === null) return kept("vanished before removal: another process removed it");

  try {
    return removeOpened(platform, file, entry, hooks);
  } catch (error) {
    return failure("remove", error);
  } finally {
    closeQuietly(platform, file);
  }
}

// Closing only releases jerrylock's own locks; a failure there cannot undo or
// invalidate the outcome, so it must not abort the rest of the run.
function closeQuietly(platform: Platform, file: CandidateHandle): void {
  try {
    platform.closeCandidate(file);
  } catch (error) {
    if (!(error instanceof PlatformError)) throw error;
  }
}

function removeOpened(platform: Platform, file: CandidateHandle, entry: LockEntry, hooks: RemovalHooks): RemovalOutcome {
  hooks.afterOpen?.(entry);

  const opened = platform.statHandle(file);
  if (!unchanged(opened, entry.stat)) return kept("changed after the verdict (another inode, size or mtime); checked again next run");

  const attempt = platform.tryLock(file);
  if (attempt.state === "conflict") {
    const holder = attempt.holders.find((candidate) => candidate.pid !== null && candidate.pid > 0);
    const by = holder?.pid == null ? "" : ` by pid ${holder.pid}`;
    return kept(`locked${by} just before removal (checked with ${attempt.method})`, "held");
  }
  if (attempt.state === "error") return failure("lock", attempt.error);

  hooks.afterLock?.(entry);

  // This stat is taken under the locks, so it also catches a record written
  // between the open and the lock.
  const current = platform.statAt(entry.dir, entry.name);
  if (current === null) return kept("vanished before removal: another process removed it");
  if (!sameFile(current, opened)) return kept("replaced by another file after the verdict; checked again next run");
  if (!unchanged(current, entry.stat)) return kept("changed after the verdict (size, mtime or links); checked again next run");

  const openers = platform.beginSoleOpener(file);
  if (openers.state === "open") {
    const by = openers.pids.length > 0 ? ` by pid ${openers.pids.join(", ")}` : " by another process";
    platform.endSoleOpener(file);
    return kept(`open${by} (checked with ${openers.method})`, "open");
  }
  if (openers.state === "unknown") {
    platform.endSoleOpener(file);
    return { removed: false, reason: `cannot tell whether another process has it open: ${openers.reason}`, verdict: "error", failed: false };
  }

  let openedMeanwhile: boolean;
  try {
    platform.unlinkHeld(file);
  } finally {
    openedMeanwhile = platform.endSoleOpener(file);
  }
  const note = openers.fallback === true ? `open state checked with ${openers.method}` : undefined;
  if (openedMeanwhile) {
    // NOTE: the lease proves that no other process had the file open before the
    // unlink, but an open that reached the file just before it gets the removed inode.
    return { removed: true, warning: "another process opened the file while it was being removed", note };
  }
  return { removed: true, note };
}

function failure(step: string, error: unknown): RemovalOutcome {
  if (error instanceof PlatformError && error.code === "ELOOP") {
    return kept("replaced by a symlink after the verdict; never followed");
  }
  if (error instanceof PlatformError && error.code === "EBUSY") {
    return kept("another process started opening it during removal", "open");
  }
  if (error instanceof PlatformError && error.code === "ENOTREG") {
    return kept("replaced by something that is not a regular file after the verdict; never opened");
  }
  if (error instanceof PlatformError && (error.code === "EAGAIN" || error.code === "EWOULDBLOCK")) {
    // Opening a file blocks, or fails with O_NONBLOCK, while another process holds a lease on it.
    return kept("another process holds a lease on it (another jerrylock may be removing it)", "open");
  }
  if (error instanceof PlatformError && (error.code === "EACCES" || error.code === "EPERM" || error.code === "EROFS")) {
    const hint = error.code === "EROFS" ? "the filesystem is read-only" : "run as the file's owner or as root";
    return { removed: false, reason: `removal failed at ${step}: ${error.message}; ${hint}`, verdict: "error", failed: true };
  }
  if (error instanceof PlatformError) {
    return { removed: false, reason: `removal failed at ${step}: ${error.message}`, verdict: "error", failed: true };
  }
  throw error;
}
