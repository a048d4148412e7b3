import { afterEach, describe, expect, test } from "bun:test";
import { createProgress, formatDecision, formatSummary, formatTable, paintVerdict, useColour } from "../../src/cli/output.ts";
import type { CleanReport, LockReport } from "../../src/core/clean.ts";
import type { Verdict } from "../../src/core/verdicts.ts";

function line(path: string, verdict: Verdict, extra: Partial<LockReport> = {}): LockReport {
  return { path, verdict, reason: `${verdict} reason`, removed: false, pid: null, command: null, age_seconds: 60, ...extra };
}

/** Builds a report whose summary matches its lines, the way cleanDirectories counts. */
function reportOf(locks: LockReport[], durationMs = 12): CleanReport {
  const byVerdict: Partial<Record<Verdict, number>> = {};
  for (const lock of locks) byVerdict[lock.verdict] = (byVerdict[lock.verdict] ?? 0) + 1;
  const removed = locks.filter((lock) => lock.removed).length;
  return {
    directories: ["/locks"],
    locks,
    summary: {
      scanned: locks.length,
      removed,
      kept: locks.length - removed,
      errors: byVerdict.error ?? 0,
      failed_removals: 0,
      not_checked: byVerdict["not-checked"] ?? 0,
      duration_ms: durationMs,
      by_verdict: byVerdict,
    },
  };
}

/** Creates a stand-in for process.stderr that records every write. */
function fakeStream(isTTY: boolean): NodeJS.WriteStream & { written: string[] } {
  const written: string[] = [];
  return {
    isTTY,
    written,
    write: (chunk: string) => {
      written.push(chunk);
      return true;
    },
  } as unknown as NodeJS.WriteStream & { written: string[] };
}

describe("formatSummary", () => {
  const afterClean = reportOf([
    line("/locks/a.lock", "stale", { removed: true }),
    line("/locks/b.lock", "orphan", { removed: true }),
    line("/locks/c.lock", "held"),
    line("/locks/d.lock", "fresh"),
  ]);

  test("counts removed and kept files", () => {
    expect(formatSummary(afterClean, "removed")).toBe("removed 2 of 4 lock files in /locks (kept 1 held, 1 fresh) in 12ms");
  });

  test("uses the singular for one file", () => {
    expect(formatSummary(reportOf([line("/locks/a.lock", "held")]), "listed")).toBe("listed 1 lock file in /locks in 12ms");
  });

  test("lists without kept counts", () => {
    expect(formatSummary(afterClean, "listed")).toBe("listed 4 lock files in /locks in 12ms");
  });

  test("counts a stale file whose removal failed as kept", () => {
    const report = reportOf([line("/locks/a.lock", "stale"), line("/locks/b.lock", "orphan", { removed: true })]);
    expect(formatSummary(report, "removed")).toBe("removed 1 of 2 lock files in /locks (kept 1 stale) in 12ms");
  });

  test("counts files a dry run would remove", () => {
    const report = reportOf([line("/locks/a.lock", "stale"), line("/locks/b.lock", "orphan"), line("/locks/c.lock", "held")]);
    expect(formatSummary(report, "would remove")).toStartWith("would remove 2 of 3 lock files in /locks");
  });

  // "would remove 2 of 3 (kept 1 stale, 1 orphan, 1 held)" counts the same two files twice.
  test("keeps removable files out of a dry run's kept counts", () => {
    const report = reportOf([line("/locks/a.lock", "stale"), line("/locks/b.lock", "orphan"), line("/locks/c.lock", "held")]);
    expect(formatSummary(report, "would remove")).toBe("would remove 2 of 3 lock files in /locks (kept 1 held) in 12ms");
  });

  test("joins several directories", () => {
    const report = { ...reportOf([]), directories: ["/a", "/b"] };
    expect(formatSummary(report, "removed")).toBe("removed 0 of 0 lock files in /a, /b in 12ms");
  });

  test("writes verdict names with spaces", () => {
    const report = reportOf([line("/locks/a.lock", "not-a-lock"), line("/locks/b.lock", "not-checked")]);
    expect(formatSummary(report, "removed")).toContain("(kept 1 not a lock, 1 not checked)");
  });
});

describe("formatDecision", () => {
  test("describes a removed file", () => {
    expect(formatDecision(line("/locks/a.lock", "stale", { removed: true, reason: "owner pid 9 is dead" }), false)).toBe(
      "removed /locks/a.lock: stale: owner pid 9 is dead",
    );
  });

  test("describes a kept file", () => {
    expect(formatDecision(line("/locks/a.lock", "held", { reason: "flock held" }), false)).toBe("kept /locks/a.lock: held: flock held");
  });

  test("appends a warning", () => {
    const lock = line("/locks/a.lock", "orphan", { removed: true, reason: "old", warning: "opened meanwhile" });
    expect(formatDecision(lock, false)).toBe("removed /locks/a.lock: orphan: old (warning: opened meanwhile)");
  });
});

describe("formatTable", () => {
  const table = formatTable(
    [
      line("/locks/a.lock", "stale", { pid: 9, command: null, age_seconds: 600, reason: "owner pid 9 is dead" }),
      line("/locks/long-name.lock", "held", { pid: 10, command: "make", age_seconds: 3, reason: "flock held" }),
      line("/locks/c.lock", "not-checked", { age_seconds: null, reason: "not reached" }),
    ],
    false,
  ).split("\n");

  test("starts with the column headers", () => {
    expect(table[0]!.split(/\s+/)).toEqual(["PATH", "VERDICT", "PID", "COMMAND", "AGE", "REASON"]);
  });

  test("shows ? for an unreadable command", () => {
    expect(table[1]!.split(/\s{2,}/)).toEqual(["/locks/a.lock", "stale", "9", "?", "10m", "owner pid 9 is dead"]);
  });

  test("shows pid, command and age", () => {
    expect(table[2]!.split(/\s{2,}/)).toEqual(["/locks/long-name.lock", "held", "10", "make", "3s", "flock held"]);
  });

  test("shows - where no pid or age is known", () => {
    expect(table[3]!.split(/\s{2,}/)).toEqual(["/locks/c.lock", "not-checked", "-", "-", "-", "not reached"]);
  });

  test("aligns the columns", () => {
    const starts = table.map((row) => row.search(/(VERDICT|stale|held|not-checked)/));
    expect(new Set(starts).size).toBe(1);
  });

  test("aligns coloured verdicts", () => {
    const coloured = formatTable([line("/locks/a.lock", "stale"), line("/locks/b.lock", "fresh")], true)
      .split("\n")
      .map((row) => row.replace(/\x1b\[[0-9;]*m/g, ""));
    expect(coloured[1]!.indexOf("60")).toBe(coloured[2]!.indexOf("60"));
  });
});

describe("paintVerdict", () => {
  test("colours a verdict that has a colour", () => {
    expect(paintVerdict("stale", true)).toBe("\x1b[31mstale\x1b[0m");
  });

  test("leaves fresh uncoloured", () => {
    expect(paintVerdict("fresh", true)).toBe("fresh");
  });

  test("adds no colour when off", () => {
    expect(paintVerdict("stale", false)).toBe("stale");
  });
});

describe("useColour", () => {
  const saved = process.env.NO_COLOR;
  afterEach(() => {
    if (saved === undefined) delete process.env.NO_COLOR;
    else process.env.NO_COLOR = saved;
  });

  test("colours a terminal", () => {
    delete process.env.NO_COLOR;
    expect(useColour(fakeStream(true))).toBe(true);
  });

  test("never colours a pipe", () => {
    delete process.env.NO_COLOR;
    expect(useColour(fakeStream(false))).toBe(false);
  });

  test("honours NO_COLOR", () => {
    process.env.NO_COLOR = "1";
    expect(useColour(fakeStream(true))).toBe(false);
  });
});

describe("createProgress", () => {
  test("writes nothing when not a terminal", () => {
    const stream = fakeStream(false);
    const progress = createProgress(stream, 0);
    progress.update(1, 2);
    progress.clear();

    expect(stream.written).toEqual([]);
  });

  test("writes nothing during the first second", () => {
    const stream = fakeStream(true);
    createProgress(stream, Date.now()).update(1, 2);
    expect(stream.written).toEqual([]);
  });

  test("draws and clears the line after a second", () => {
    const stream = fakeStream(true);
    const progress = createProgress(stream, Date.now() - 5000);
    progress.update(3, 10);
    progress.clear();

    expect(stream.written).toEqual(["\r\x1b[Kjerrylock: checked 3/10 lock files", "\r\x1b[K"]);
  });
});
