/**
 * jerrylock as a library: self-cleaning lock files that stay mutually
 * exclusive, and the `clean` and `ls` core.
 *
 * A lock taken here is the same lock `jerrylock with` and flock(1) take: an
 * exclusive flock plus an OFD lock on Linux. The file is created when missing
 * and removed on release while the lock is still held. Every acquisition
 * checks that the name still points to the file it locked and starts over
 * when it does not, so two holders that both acquire through jerrylock never
 * run at once. Release keeps the file when another process has it open,
 * because a waiter such as flock(1) does not make that check.
 *
 * @example
 * ```ts
 * import { withLock } from "jerrylock";
 *
 * const total = await withLock("/tmp/build.lock", async () => {
 *   return await runTheBuild();
 * }, { timeoutMs: 30_000 });
 * ```
 *
 * @module
 */
import { DEFAULTS } from "./core/defaults.ts";
import { acquireLock, type AcquireOptions, type HeldLock, type ReleaseOutcome } from "./core/acquire.ts";
import { cleanDirectories, type CleanReport } from "./core/clean.ts";
import { parseDuration } from "./core/duration.ts";
import { currentPlatform } from "./platform/index.ts";
import { VERSION } from "./version.ts";

export { LockError, type AcquireOptions, type HolderInfo, type LockErrorCode, type ReleaseOutcome } from "./core/acquire.ts";
export { DirectoryError, type CleanReport, type CleanSummary, type LockReport } from "./core/clean.ts";
export type { Verdict } from "./core/verdicts.ts";
export { VERDICTS } from "./core/verdicts.ts";

/** A held lock; release it with `release()` or with `await using`. */
export interface LockHandle extends HeldLock, AsyncDisposable {}

/**
 * Acquires an exclusive lock on `path`, creating the file when missing.
 * Waits as long as another process holds it. With `wait: false`, or once
 * `timeoutMs` runs out, it rejects with a LockError whose `code` is ELOCKED
 * or ETIMEDOUT and whose `holder` names the holding pid when known. A lock
 * whose holder has died is taken over at once.
 *
 * The lock belongs to this process and is not inherited by child processes;
 * it ends at `release()` or when the process exits.
 *
 * @example
 * ```ts
 * import { acquire, LockError } from "jerrylock";
 *
 * try {
 *   const lock = await acquire("/tmp/cache.lock", { wait: false });
 *   try {
 *     rebuildCache();
 *   } finally {
 *     await lock.release();
 *   }
 * } catch (error) {
 *   if (error instanceof LockError && error.code === "ELOCKED") console.error(`busy: pid ${error.holder?.pid}`);
 *   else throw error;
 * }
 * ```
 */
export async function acquire(path: string, options: AcquireOptions = {}): Promise<LockHandle> {
  checkMilliseconds("timeoutMs", options.timeoutMs);
  const held = await acquireLock(path, options, { platform: currentPlatform(), tool: `jerrylock ${VERSION}` });
  return {
    path: held.path,
    handle: held.handle,
    record: held.record,
    release: (keepFile?: string): Promise<ReleaseOutcome> => held.release(keepFile),
    [Symbol.asyncDispose]: async () => {
      await held.release();
    },
  };
}

/**
 * Runs `fn` while holding the lock on `path` and releases it afterwards,
 * also when `fn` throws. Resolves to what `fn` returns.
 *
 * @example
 * ```ts
 * import { withLock } from "jerrylock";
 *
 * const next = await withLock("/tmp/counter.lock", async () => {
 *   const value = Number(await Bun.file("/tmp/counter").text()) + 1;
 *   await Bun.write("/tmp/counter", String(value));
 *   return value;
 * });
 * ```
 */
export async function withLock<T>(path: string, fn: (lock: LockHandle) => T | Promise<T>, options: AcquireOptions = {}): Promise<T> {
  const lock = await acquire(path, options);
  try {
    return await fn(lock);
  } finally {
    await lock.release();
  }
}

/** Options of `clean` and `ls`, with the defaults of the command line. */
export interface ScanOptions {
  /** Glob matched against each file name (default "*.lock"). */
  pattern?: string;
  /** Also look in subdirectories, never through a symlink (default false). */
  recursive?: boolean;
  /** Files without an owner record younger than this are `fresh` (default 5 minutes). */
  maxAgeMs?: number;
  /** Files not reached within this time are `not-checked` and kept. */
  timeoutMs?: number;
}

/** The report `--json` prints: the version plus the directories, one line per file, and the summary. */
export type Report = CleanReport & { version: string };

/**
 * Removes the stale and orphaned lock files in `directories` through the
 * removal protocol and keeps every other file; returns the report that
 * `jerrylock clean --json` prints. Throws DirectoryError for a directory that
 * cannot be opened or listed.
 *
 * @example
 * ```ts
 * import { clean } from "jerrylock";
 *
 * const report = clean(".jerry/local/locks", { maxAgeMs: 60_000 });
 * for (const lock of report.locks) if (lock.removed) console.log(`removed ${lock.path}: ${lock.reason}`);
 * ```
 */
export function clean(directories: string | string[], options: ScanOptions & { dryRun?: boolean } = {}): Report {
  return scan(directories, options, true, options.dryRun ?? false);
}

/**
 * Decides the verdict of every lock file in `directories` without taking a
 * lock or removing anything; returns the report that `jerrylock ls --json`
 * prints.
 *
 * @example
 * ```ts
 * import { ls } from "jerrylock";
 *
 * const held = ls("/tmp/locks").locks.filter((lock) => lock.verdict === "held");
 * console.log(held.map((lock) => `${lock.path} by pid ${lock.pid}`).join("\n"));
 * ```
 */
export function ls(directories: string | string[], options: ScanOptions = {}): Report {
  return scan(directories, options, false, false);
}

/** Rejects a duration option that is not a finite number of ms >= 0; a NaN max age would make every file an orphan. */
function checkMilliseconds(name: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`invalid ${name} ${JSON.stringify(value)}: give a finite number of milliseconds, 0 or more`);
  }
}

function scan(directories: string | string[], options: ScanOptions, remove: boolean, dryRun: boolean): Report {
  checkMilliseconds("maxAgeMs", options.maxAgeMs);
  checkMilliseconds("timeoutMs", options.timeoutMs);
  const platform = currentPlatform();
  const startedAt = platform.now();
  const report = cleanDirectories(platform, typeof directories === "string" ? [directories] : directories, {
    remove,
    dryRun,
    maxAgeMs: options.maxAgeMs ?? (parseDuration(DEFAULTS.maxAge) as number),
    pattern: options.pattern ?? DEFAULTS.pattern,
    recursive: options.recursive ?? false,
    deadlineMs: options.timeoutMs === undefined ? undefined : startedAt + options.timeoutMs,
  });
  return { version: VERSION, ...report };
}
