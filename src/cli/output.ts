// Formatting of clean and ls results for people: the lslocks-like table, the
// one-line summary, colour and the progress line.
import columnify from "columnify";
import type { CleanReport, LockReport } from "../core/clean.ts";
import { LIMITS } from "../core/defaults.ts";
import { formatDuration } from "../core/duration.ts";
import type { Verdict } from "../core/verdicts.ts";

/** Colour only on a terminal, and never when NO_COLOR is set to a non-empty value (no-color.org). */
export function useColour(stream: NodeJS.WriteStream): boolean {
  const noColour = process.env.NO_COLOR;
  return stream.isTTY === true && (noColour === undefined || noColour === "");
}

const VERDICT_COLOUR: Partial<Record<Verdict, string>> = {
  held: "33",
  open: "33",
  "live-owner": "32",
  stale: "31",
  orphan: "31",
  error: "35",
  "not-a-lock": "2",
};

export function paintVerdict(verdict: Verdict, colour: boolean): string {
  const code = VERDICT_COLOUR[verdict];
  return colour && code !== undefined ? `\x1b[${code}m${verdict}\x1b[0m` : verdict;
}

/** ls columns in one table: header, and how each column reads a report line. */
export const LS_COLUMNS: { header: string; help: string; value(lock: LockReport): string }[] = [
  { header: "PATH", help: "lock file path, unprintable bytes escaped as \\xNN", value: (lock) => lock.path },
  { header: "VERDICT", help: "what clean does with it; see 'Verdicts'", value: (lock) => lock.verdict },
  { header: "PID", help: "holder or owner pid; - when none is known", value: (lock) => (lock.pid === null ? "-" : String(lock.pid)) },
  { header: "COMMAND", help: "command of that pid; ? when unreadable, - when no pid", value: (lock) => (lock.pid === null ? "-" : (lock.command ?? "?")) },
  { header: "AGE", help: "time since the file was last written", value: (lock) => (lock.age_seconds === null ? "-" : formatAge(lock.age_seconds)) },
  { header: "REASON", help: "why, in one line", value: (lock) => lock.reason },
];

export function formatTable(locks: LockReport[], colour: boolean): string {
  const rows = locks.map((lock) => {
    const row: Record<string, string> = {};
    for (const column of LS_COLUMNS) row[column.header] = column.value(lock);
    row.VERDICT = paintVerdict(lock.verdict, colour);
    return row;
  });
  const table = columnify(rows, {
    columns: LS_COLUMNS.map((column) => column.header),
    columnSplitter: "  ",
    preserveNewLines: false,
    config: { REASON: { maxWidth: 10_000 }, PATH: { maxWidth: 10_000 } },
  });
  return table
    .split("\n")
    .map((line) => line.trimEnd())
    .join("\n");
}

function formatAge(seconds: number): string {
  return seconds < 60 ? `${seconds}s` : formatDuration(seconds * 1000);
}

/** Formats "removed 97 of 103 lock files in DIR (kept 3 held, 2 fresh, 1 not a lock) in 12ms". */
export function formatSummary(report: CleanReport, action: "removed" | "would remove" | "listed"): string {
  const { summary } = report;
  // A dry run removes nothing, but its stale and orphan files are the ones it would remove, not kept ones.
  const wouldGo = (verdict: string, lock: CleanReport["locks"][number]): boolean =>
    lock.verdict === verdict && (lock.removed || (action === "would remove" && (verdict === "stale" || verdict === "orphan")));
  const kept = Object.entries(summary.by_verdict)
    .map(([verdict, count]) => ({ verdict, count: count - report.locks.filter((lock) => wouldGo(verdict, lock)).length }))
    .filter(({ count }) => count > 0)
    .map(({ verdict, count }) => `${count} ${verdict.replaceAll("-", " ")}`);
  const where = report.directories.join(", ");
  const noun = summary.scanned === 1 ? "lock file" : "lock files";
  const counts =
    action === "listed"
      ? `listed ${summary.scanned} ${noun} in ${where}`
      : `${action} ${action === "removed" ? summary.removed : countRemovable(report)} of ${summary.scanned} ${noun} in ${where}`;
  const detail = kept.length > 0 && action !== "listed" ? ` (kept ${kept.join(", ")})` : "";
  return `${counts}${detail} in ${formatDuration(summary.duration_ms)}`;
}

function countRemovable(report: CleanReport): number {
  return report.locks.filter((lock) => lock.verdict === "stale" || lock.verdict === "orphan").length;
}

/** Formats the -v line of one file: what happened to it and why. */
export function formatDecision(lock: LockReport, colour: boolean, dryRun = false): string {
  const removable = lock.verdict === "stale" || lock.verdict === "orphan";
  let action = "kept";
  if (lock.removed) action = "removed";
  else if (dryRun && removable) action = "would remove";
  const warning = lock.warning === undefined ? "" : ` (warning: ${lock.warning})`;
  return `${action} ${lock.path}: ${paintVerdict(lock.verdict, colour)}: ${lock.reason}${warning}`;
}

/**
 * Returns a progress callback that draws "checked N/M lock files" on a
 * terminal once the run has taken longer than a second, and a function that
 * clears it. Does nothing when stderr is not a terminal.
 */
export function createProgress(stream: NodeJS.WriteStream, startedAt: number): { update(done: number, total: number): void; clear(): void } {
  if (stream.isTTY !== true) return { update: () => {}, clear: () => {} };

  let shown = false;
  let lastDraw = 0;
  return {
    update(done, total) {
      const now = Date.now();
      if (now - startedAt < LIMITS.progressAfterMs || now - lastDraw < 100) return;
      lastDraw = now;
      shown = true;
      stream.write(`\r\x1b[Kjerrylock: checked ${done}/${total} lock files`);
    },
    clear() {
      if (shown) stream.write("\r\x1b[K");
    },
  };
}
