// `clean` and `ls` over one or more lock directories: list, decide each
// file's verdict, and (for clean) remove the stale and orphaned ones through
// the removal protocol. Returns the report that `--json` prints.
import type { DirHandle, FileStat, Platform, ProbeScan } from "../platform/types.ts";
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
    const detail = cause.message.includes("(") ? ` (${cause.message.slice(cause.message.indexOf("(") + 1, -1)})` : "";
    super(`cannot read lock directory "${printableText(path)}": ${cause.code}${detail}`);
    this.name = "DirectoryError";
    this.code = cause.code;
    this.path = path;
  }
}

/**
 * A lock directory found below a project root: every component below `root`
 * is opened without following a symlink, so a checkout that ships
 * `.jerry/local/locks` as a symlink cannot point a root-run clean elsewhere.
 */
export interface ConfinedDir {
  /** Path for messages and reports. */
  path: string;
  root: string;
  /** Components from `root` down to the lock directory, for example [".jerry", "local", "locks"]. */
  below: string[];
}

/** Runs clean (or ls) over every directory; throws DirectoryError for an unreadable directory. */
export function cleanDirectories(platform: Platform, directories: (string | ConfinedDir)[], options: CleanOptions): CleanReport {
  const startedAt = platform.now();
  const locks: LockReport[] = [];
  let failedRemovals = 0;

  for (const target of directories) {
    const path = typeof target === "string" ? target : target.path;
    let dir: DirHandle;
    try {
      dir = typeof target === "string" ? platform.openDir(path) : openConfined(platform, target);
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

  const paths = directories.map((target) => printableText(typeof target === "string" ? target : target.path));
  return { directories: paths, locks, summary: summarize(locks, failedRemovals, platform.now() - startedAt) };
}

function openConfined(platform: Platform, target: ConfinedDir): DirHandle {
  let dir = platform.openDir(target.root);
  for (const [index, component] of target.below.entries()) {
    const last = index === target.below.length - 1;
    try {
      const next = platform.openSubdir(dir, Buffer.from(component), last ? target.path : component);
      platform.closeDir(dir);
      dir = next;
    } catch (error) {
      platform.closeDir(dir);
      if (error instanceof PlatformError && (error.code === "ELOOP" || error.code === "ENOTDIR")) {
        throw new PlatformError(error.code, "open directory", target.path, `"${component}" below "${target.root}" is a symlink or not a directory, and jerrylock follows no symlink there; pass the real directory explicitly if it is meant`);
      }
      throw error;
    }
  }
  return dir;
}

/** A listed entry, or one that could not be inspected and is reported as an error. */
interface ScanItem {
  entry: LockEntry;
  /** Reason the entry could not be inspected; it then gets the verdict `error`. */
  problem?: string;
}

const NO_STAT: FileStat = { kind: "unknown", dev: "", ino: 0n, size: 0, mtimeMs: 0, nlink: 0, uid: -1 };

/** State of one walk over a lock directory and, with --recursive, its subdirectories. */
interface Walk {
  platform: Platform;
  options: CleanOptions;
  glob: Bun.Glob;
  root: DirHandle;
  /** Created on the first file, so /proc is read once per directory tree. */
  scan?: ProbeScan;
  out: LockReport[];
  failedRemovals: number;
}

function cleanDirectory(platform: Platform, root: DirHandle, options: CleanOptions, out: LockReport[]): number {
  const walk: Walk = { platform, options, glob: new Bun.Glob(options.pattern), root, out, failedRemovals: 0 };
  cleanOneDirectory(walk, root);
  return walk.failedRemovals;
}

// Each subdirectory is closed before the next one is opened, so a wide tree
// never holds more than its depth in open descriptors.
function cleanOneDirectory(walk: Walk, dir: DirHandle): void {
  const { platform, options } = walk;
  const entries: ScanItem[] = [];
  const subdirectories: LockEntry[] = [];

  const names = platform.listDir(dir);
  names.sort((a, b) => Buffer.compare(a, b));
  for (const name of names) {
    const displayPath = joinDisplay(dir.path, displayBytes(name));
    const matches = walk.glob.match(Buffer.from(name).toString("utf8"));

    let stat: FileStat | null;
    try {
      stat = platform.statAt(dir, name);
    } catch (error) {
      if (!(error instanceof PlatformError)) throw error;
      if (matches) entries.push({ entry: { dir, name, displayPath, stat: NO_STAT }, problem: `cannot stat the entry: ${error.message}` });
      continue;
    }
    if (stat === null) continue;

    if (stat.kind === "directory" && options.recursive) subdirectories.push({ dir, name, displayPath, stat });
    if (matches) entries.push({ entry: { dir, name, displayPath, stat } });
  }
  decideAndRemove(walk, entries);

  for (const subdirectory of subdirectories) {
    let handle: DirHandle;
    try {
      handle = platform.openSubdir(dir, subdirectory.name, subdirectory.displayPath);
    } catch (error) {
      if (!(error instanceof PlatformError)) throw error;
      // One unreadable subdirectory must not hide the rest of the tree.
      decideAndRemove(walk, [{ entry: subdirectory, problem: `cannot read subdirectory: ${error.message}; its files were not checked` }]);
      continue;
    }
    try {
      cleanOneDirectory(walk, handle);
    } catch (error) {
      if (!(error instanceof PlatformError)) throw error;
      decideAndRemove(walk, [{ entry: subdirectory, problem: `cannot read subdirectory: ${error.message}; its files were not checked` }]);
    } finally {
      platform.closeDir(handle);
    }
  }
}

function decideAndRemove(walk: Walk, entries: ScanItem[]): void {
  if (entries.length === 0) return;

  const { platform, options, out } = walk;
  walk.scan ??= platform.beginScan(walk.root);
  const scan = walk.scan;
  const host = platform.host();

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
        const checkOpen = !options.remove || options.dryRun;
        decision = classify(entry, { platform, scan, host, now: platform.now(), maxAgeMs: options.maxAgeMs, runScope: options.runScope, checkOpen });
      } catch (error) {
        // Any failure of a probe (EMFILE while reading /proc, say) keeps this
        // file with the error instead of losing the report of every other file.
        if (!(error instanceof Error)) throw error;
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
      const reason = outcome.note === undefined ? decision.reason : `${decision.reason}; ${outcome.note}`;
      out.push(report(entry, { ...decision, reason }, true, outcome.warning ?? null));
      continue;
    }
    if (outcome.failed) walk.failedRemovals += 1;
    const verdict = outcome.verdict ?? decision.verdict;
    const reason = outcome.verdict === undefined ? `${decision.reason}; kept: ${outcome.reason}` : outcome.reason;
    out.push(report(entry, { ...decision, verdict, reason }, false, null));
  }
  options.onProgress?.(entries.length, entries.length);
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

// The directory comes from the user or the environment and may itself contain control characters.
function joinDisplay(directory: string, name: string): string {
  const shown = printableText(directory);
  if (shown.endsWith("/") || shown.endsWith("\\")) return `${shown}${name}`;
  // A Windows path such as "C:\\locks" keeps its own separator.
  const separator = shown.includes("\\") && !shown.includes("/") ? "\\" : "/";
  return `${shown}${separator}${name}`;
}
