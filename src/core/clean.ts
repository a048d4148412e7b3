// `clean` and `ls` over one or more lock directories: list, decide each
// file's verdict, and (for clean) remove the stale and orphaned ones through
// the removal protocol. Returns the report that `--json` prints.
import type { DirHandle, FileStat, Platform } from "../platform/types.ts";
import { PlatformError } from "../platform/types.ts";
import { classify, type Decision, type LockEntry, type RunScope } from "./classify.ts";
import { removeThroughProtocol, type RemovalHooks } from "./remove.ts";
import { displayBytes, printableText } from "./display.ts";
import { REMOVABLE, type Verdict } from "./verdicts.ts";

export { displayBytes, printableText };

export interface CleanOptions {
  /** false for `ls`: decide only, never open for writing, never lock. */
  remove: boolean;
  /** Decide as clean would, but remove nothing. */
  dryRun: boolean;
  maxAgeMs: number;
  /** Glob matched against each entry's name, for example "*.lock". */
  pattern: string;
  recursive: boolean;
  /** Absolute time (ms since the epoch) after which remaining files are `not-checked`. */
  deadlineMs?: number;
  runScope?: RunScope;
  hooks?: RemovalHooks;
  /** Called after each file, for a progress line. */
  onProgress?(done: number, total: number): void;
}

/** One file's line in the report; field names are those of `--json`. */
export interface LockReport {
  path: string;
  verdict: Verdict;
  reason: string;
  removed: boolean;
  pid: number | null;
  command: string | null;
  age_seconds: number | null;
  /** Set when the file was removed but something about the removal needs attention. */
  warning?: string;
}

export interface CleanSummary {
  scanned: number;
  removed: number;
  kept: number;
  errors: number;
  /** Removals that failed at an OS call (exit status 1). */
  failed_removals: number;
  not_checked: number;
  duration_ms: number;
  by_verdict: Partial<Record<Verdict, number>>;
}

export interface CleanReport {
  directories: string[];
  locks: LockReport[];
  summary: CleanSummary;
}

/** A directory that could not be opened or listed; the CLI decides how loud to be. */
export class DirectoryError extends Error {
  readonly code: string;
  readonly path: string;

  constructor(path: string, cause: PlatformError) {
    super(`cannot read lock directory "${path}": ${cause.code}`);
    this.name = "DirectoryError";
    this.code = cause.code;
    this.path = path;
  }
}

/** Runs clean (or ls) over every directory; throws DirectoryError for an unreadable directory. */
export function cleanDirectories(platform: Platform, directories: string[], options: CleanOptions): CleanReport {
  const startedAt = platform.now();
  const locks: LockReport[] = [];
  let failedRemovals = 0;

  for (const path of directories) {
    let dir: DirHandle;
    try {
      dir = platform.openDir(path);
    } catch (error) {
      if (error instanceof PlatformError) throw new DirectoryError(path, error);
      throw error;
    }
    try {
      failedRemovals += cleanDirectory(platform, dir, options, locks);
    } catch (error) {
      // Only listing the directory itself can fail here; every per-file failure is a report line.
      if (error instanceof PlatformError) throw new DirectoryError(path, error);
      throw error;
    } finally {
      platform.closeDir(dir);
    }
  }

  return { directories, locks, summary: summarize(locks, failedRemovals, platform.now() - startedAt) };
}

/** A listed entry, or one that could not be inspected and is reported as an error. */
interface ScanItem {
  entry: LockEntry;
  /** Why the entry could not be inspected; it then gets the verdict `error`. */
  problem?: string;
}

const NO_STAT: FileStat = { kind: "unknown", dev: "", ino: 0n, size: 0, mtimeMs: 0, nlink: 0, uid: -1 };

function cleanDirectory(platform: Platform, root: DirHandle, options: CleanOptions, out: LockReport[]): number {
  const entries: ScanItem[] = [];
  const subdirectories: DirHandle[] = [];
  const glob = new Bun.Glob(options.pattern);

  try {
    collectEntries(platform, root, options, glob, entries, subdirectories);
    return decideAndRemove(platform, root, entries, options, out);
  } finally {
    for (const subdirectory of subdirectories) platform.closeDir(subdirectory);
  }
}

function collectEntries(
  platform: Platform,
  dir: DirHandle,
  options: CleanOptions,
  glob: Bun.Glob,
  entries: ScanItem[],
  subdirectories: DirHandle[],
): void {
  const names = platform.listDir(dir);
  names.sort((a, b) => Buffer.compare(a, b));

  for (const name of names) {
    const displayName = displayBytes(name);
    const displayPath = joinDisplay(dir.path, displayName);
    const matches = glob.match(Buffer.from(name).toString("utf8"));

    let stat: FileStat | null;
    try {
      stat = platform.statAt(dir, name);
    } catch (error) {
      if (!(error instanceof PlatformError)) throw error;
      if (matches) entries.push({ entry: { dir, name, displayPath, stat: NO_STAT }, problem: `cannot stat the entry: ${error.message}` });
      continue;
    }
    if (stat === null) continue;

    if (stat.kind === "directory" && options.recursive) {
      try {
        const subdirectory = platform.openSubdir(dir, name, displayPath);
        subdirectories.push(subdirectory);
        collectEntries(platform, subdirectory, options, glob, entries, subdirectories);
      } catch (error) {
        if (!(error instanceof PlatformError)) throw error;
        // One unreadable subdirectory must not hide the rest of the tree.
        entries.push({ entry: { dir, name, displayPath, stat }, problem: `cannot read subdirectory: ${error.message}; its files were not checked` });
        continue;
      }
    }
    if (matches) entries.push({ entry: { dir, name, displayPath, stat } });
  }
}

function decideAndRemove(platform: Platform, root: DirHandle, entries: ScanItem[], options: CleanOptions, out: LockReport[]): number {
  if (entries.length === 0) return 0;

  const scan = platform.beginScan(root);
  const host = platform.host();
  let failedRemovals = 0;

  for (const [index, { entry, problem }] of entries.entries()) {
    options.onProgress?.(index, entries.length);
    if (options.deadlineMs !== undefined && platform.now() > options.deadlineMs) {
      out.push(report(entry, { verdict: "not-checked", reason: "not reached before --timeout; kept", pid: null, command: null, ageSeconds: 0 }, false, null));
      continue;
    }

    let decision: Decision | null;
    if (problem !== undefined) {
      decision = { verdict: "error", reason: problem, pid: null, command: null, ageSeconds: 0 };
    } else {
      try {
        decision = classify(entry, { platform, scan, host, now: platform.now(), maxAgeMs: options.maxAgeMs, runScope: options.runScope });
      } catch (error) {
        if (!(error instanceof PlatformError)) throw error;
        decision = { verdict: "error", reason: `probe failed: ${error.message}`, pid: null, command: null, ageSeconds: 0 };
      }
    }
    if (decision === null) continue;

    if (!options.remove || options.dryRun || !REMOVABLE.has(decision.verdict)) {
      out.push(report(entry, decision, false, null));
      continue;
    }

    const outcome = removeThroughProtocol(platform, entry, options.hooks);
    if (outcome.removed) {
      out.push(report(entry, decision, true, outcome.warning ?? null));
      continue;
    }
    if (outcome.failed) failedRemovals += 1;
    const verdict = outcome.verdict ?? decision.verdict;
    const reason = outcome.verdict === undefined ? `${decision.reason}; kept: ${outcome.reason}` : outcome.reason;
    out.push(report(entry, { ...decision, verdict, reason }, false, null));
  }
  options.onProgress?.(entries.length, entries.length);
  return failedRemovals;
}

function report(entry: LockEntry, decision: Decision, removed: boolean, warning: string | null): LockReport {
  const line: LockReport = {
    path: entry.displayPath,
    verdict: decision.verdict,
    // Reasons quote record content and process names, which are untrusted text.
    reason: printableText(decision.reason),
    removed,
    pid: decision.pid,
    command: decision.command === null ? null : printableText(decision.command),
    age_seconds: decision.verdict === "not-checked" || entry.stat === NO_STAT ? null : decision.ageSeconds,
  };
  if (warning !== null) line.warning = warning;
  return line;
}

function summarize(locks: LockReport[], failedRemovals: number, durationMs: number): CleanSummary {
  const byVerdict: Partial<Record<Verdict, number>> = {};
  for (const lock of locks) byVerdict[lock.verdict] = (byVerdict[lock.verdict] ?? 0) + 1;
  const removed = locks.filter((lock) => lock.removed).length;
  return {
    scanned: locks.length,
    removed,
    kept: locks.length - removed,
    errors: byVerdict.error ?? 0,
    failed_removals: failedRemovals,
    not_checked: byVerdict["not-checked"] ?? 0,
    duration_ms: Math.round(durationMs),
    by_verdict: byVerdict,
  };
}

function joinDisplay(directory: string, name: string): string {
  return directory.endsWith("/") || directory.endsWith("\\") ? `${directory}${name}` : `${directory}/${name}`;
}
