import { describe, expect, test } from "bun:test";
import { cleanDirectories, DirectoryError, displayBytes, type CleanOptions, type CleanReport, type LockReport } from "../../src/core/clean.ts";
import { FakePlatform } from "../../src/platform/fake.ts";
import { PlatformError } from "../../src/platform/types.ts";

const NOW = Date.UTC(2026, 0, 1, 12);
/** No fake process has this pid, so the fake reports it as dead. */
const DEAD_PID = 999_999;
const LIVE_PID = 3000;
const MINUTE = 60_000;
const OLD = NOW - 10 * MINUTE;

const REMOVAL_PRIMITIVES = ["openCandidate", "statHandle", "tryLock", "beginSoleOpener", "unlinkHeld", "endSoleOpener", "closeCandidate", "createCandidate", "writeRecord"];

const OPTIONS: CleanOptions = { remove: true, dryRun: false, maxAgeMs: 5 * MINUTE, pattern: "*.lock", recursive: false };

/** Builds a directory with one file of each common verdict. */
function mixedWorld(): FakePlatform {
  const fake = new FakePlatform({ now: NOW });
  fake.setProcess(LIVE_PID, { liveness: "alive", startTimeMs: OLD - MINUTE, command: "builder" });
  fake.addFile("/locks", "fresh.lock", { mtimeMs: NOW - MINUTE });
  fake.addFile("/locks", "held.lock", { mtimeMs: OLD, holders: [{ kind: "flock", mode: "write", pid: LIVE_PID }] });
  fake.addFile("/locks", "live.lock", { mtimeMs: OLD, content: `${LIVE_PID}\n` });
  fake.addFile("/locks", "orphan.lock", { mtimeMs: OLD });
  fake.addFile("/locks", "stale.lock", { mtimeMs: OLD, content: `${DEAD_PID}\n` });
  return fake;
}

const run = (fake: FakePlatform, options: Partial<CleanOptions> = {}, dirs = ["/locks"]): CleanReport => cleanDirectories(fake, dirs, { ...OPTIONS, ...options });

function lockAt(report: CleanReport, path: string): LockReport {
  const lock = report.locks.find((candidate) => candidate.path === path);
  if (lock === undefined) throw new Error(`no report line for "${path}"; lines: ${report.locks.map((line) => line.path).join(", ")}`);
  return lock;
}

const verdicts = (report: CleanReport): Record<string, string> => Object.fromEntries(report.locks.map((lock) => [lock.path, lock.verdict]));

describe("cleanDirectories: clean", () => {
  test("reaches one verdict per file", () => {
    expect(verdicts(run(mixedWorld()))).toEqual({
      "/locks/fresh.lock": "fresh",
      "/locks/held.lock": "held",
      "/locks/live.lock": "live-owner",
      "/locks/orphan.lock": "orphan",
      "/locks/stale.lock": "stale",
    });
  });

  test("removes only stale and orphan files", () => {
    const fake = mixedWorld();
    run(fake);
    expect(fake.names("/locks")).toEqual(["fresh.lock", "held.lock", "live.lock"]);
  });

  test("marks removed files in the report", () => {
    const report = run(mixedWorld());

    expect(lockAt(report, "/locks/stale.lock").removed).toBe(true);
    expect(lockAt(report, "/locks/orphan.lock").removed).toBe(true);
    expect(lockAt(report, "/locks/held.lock").removed).toBe(false);
  });

  test("counts the summary", () => {
    const report = run(mixedWorld());

    expect(report.summary).toEqual({
      scanned: 5,
      removed: 2,
      kept: 3,
      errors: 0,
      failed_removals: 0,
      not_checked: 0,
      duration_ms: 0,
      by_verdict: { fresh: 1, held: 1, "live-owner": 1, orphan: 1, stale: 1 },
    });
  });

  test("lists the directories in the report", () => {
    expect(run(mixedWorld()).directories).toEqual(["/locks"]);
  });

  test("closes every handle it opened", () => {
    const fake = mixedWorld();
    run(fake);

    expect(fake.openHandleCount()).toBe(0);
    expect(fake.methods().filter((method) => method === "closeDir").length).toBe(fake.methods().filter((method) => method === "openDir").length);
  });

  test("reports a file locked before removal as held", () => {
    const fake = mixedWorld();
    const stale = fake.file("/locks", "stale.lock")!;
    fake.on("openCandidate", (call) => {
      if (call.path === "stale.lock") stale.holders.push({ kind: "posix", mode: "write", pid: LIVE_PID });
    });
    const lock = lockAt(run(fake), "/locks/stale.lock");

    expect(lock.verdict).toBe("held");
    expect(lock.removed).toBe(false);
  });

  test("keeps the verdict when removal finds a change", () => {
    const fake = mixedWorld();
    fake.on("openCandidate", (call) => {
      if (call.path === "stale.lock") fake.file("/locks", "stale.lock")!.mtimeMs = NOW;
    });
    const lock = lockAt(run(fake), "/locks/stale.lock");

    expect(lock.verdict).toBe("stale");
    expect(lock.removed).toBe(false);
    expect(lock.reason).toContain("; kept: changed after the verdict");
  });

  test("counts a failed removal", () => {
    const fake = mixedWorld();
    fake.fail("unlinkHeld", new PlatformError("EPERM", "unlinkat", "stale.lock"), { path: "stale.lock" });
    const report = run(fake);

    expect(report.summary.failed_removals).toBe(1);
    expect(report.summary.errors).toBe(1);
    expect(lockAt(report, "/locks/stale.lock").verdict).toBe("error");
  });

  test("reports a removal warning", () => {
    const fake = mixedWorld();
    fake.on("unlinkHeld", (call) => {
      if (call.path === "stale.lock") fake.file("/locks", "stale.lock")!.openers.push(LIVE_PID);
    });
    expect(lockAt(run(fake), "/locks/stale.lock").warning).toBe("another process opened the file while it was being removed");
  });

  test("reports a failed probe as error", () => {
    const fake = mixedWorld();
    fake.fail("readAt", new PlatformError("EIO", "read", "stale.lock"), { path: "stale.lock" });
    const lock = lockAt(run(fake), "/locks/stale.lock");

    expect(lock.verdict).toBe("error");
    expect(lock.reason).toContain("EIO");
    expect(lock.removed).toBe(false);
  });

  test("reports a failed stat as error", () => {
    const fake = mixedWorld();
    fake.fail("statAt", new PlatformError("EACCES", "statx", "stale.lock"), { path: "stale.lock" });
    const lock = lockAt(run(fake), "/locks/stale.lock");

    expect(lock.verdict).toBe("error");
    expect(lock.age_seconds).toBeNull();
    expect(fake.exists("/locks", "stale.lock")).toBe(true);
  });

  // The reason is the user's only clue; "cannot stat the entry" drops the errno.
  test("names the stat error in the reason", () => {
    const fake = mixedWorld();
    fake.fail("statAt", new PlatformError("EACCES", "statx", "stale.lock"), { path: "stale.lock" });
    expect(lockAt(run(fake), "/locks/stale.lock").reason).toContain("EACCES");
  });

  test("leaves out a file that vanished before the verdict", () => {
    const fake = mixedWorld();
    fake.on("readAt", (call) => {
      if (call.path === "stale.lock") fake.removeFile("/locks", "stale.lock");
    });
    expect(run(fake).locks.map((lock) => lock.path)).not.toContain("/locks/stale.lock");
  });

  test("throws DirectoryError for a missing directory", () => {
    const fake = mixedWorld();
    let thrown: unknown;
    try {
      run(fake, {}, ["/missing"]);
    } catch (error) {
      thrown = error;
    }

    expect(thrown).toBeInstanceOf(DirectoryError);
    expect((thrown as DirectoryError).code).toBe("ENOENT");
    expect((thrown as DirectoryError).path).toBe("/missing");
  });

  test("reports progress for each file and at the end", () => {
    const seen: string[] = [];
    run(mixedWorld(), { onProgress: (done, total) => seen.push(`${done}/${total}`) });
    expect(seen).toEqual(["0/5", "1/5", "2/5", "3/5", "4/5", "5/5"]);
  });
});

describe("cleanDirectories: dry run and ls", () => {
  test("dry run removes nothing", () => {
    const fake = mixedWorld();
    const report = run(fake, { dryRun: true });

    expect(fake.names("/locks").length).toBe(5);
    expect(report.summary.removed).toBe(0);
  });

  test("dry run takes no lock", () => {
    const fake = mixedWorld();
    run(fake, { dryRun: true });

    expect(fake.methods()).not.toContain("openCandidate");
    expect(fake.methods()).not.toContain("tryLock");
  });

  test("dry run reaches the same verdicts", () => {
    expect(verdicts(run(mixedWorld(), { dryRun: true }))).toEqual(verdicts(run(mixedWorld())));
  });

  test("ls never calls a removal primitive", () => {
    const fake = mixedWorld();
    run(fake, { remove: false });

    const called = fake.methods().filter((method) => REMOVAL_PRIMITIVES.includes(method));
    expect(called).toEqual([]);
  });

  test("ls removes nothing", () => {
    const fake = mixedWorld();
    run(fake, { remove: false });
    expect(fake.names("/locks").length).toBe(5);
  });
});

describe("cleanDirectories: --timeout", () => {
  test("marks files after the deadline not-checked", () => {
    const fake = mixedWorld();
    const report = run(fake, {
      deadlineMs: NOW + 1000,
      onProgress: (done) => {
        if (done === 2) fake.advance(2000);
      },
    });

    expect(report.locks.map((lock) => lock.verdict)).toEqual(["fresh", "held", "not-checked", "not-checked", "not-checked"]);
  });

  test("keeps files not checked", () => {
    const fake = mixedWorld();
    run(fake, { deadlineMs: NOW - 1 });
    expect(fake.names("/locks").length).toBe(5);
  });

  test("counts files not checked", () => {
    const report = run(mixedWorld(), { deadlineMs: NOW - 1 });

    expect(report.summary.not_checked).toBe(5);
    expect(report.summary.kept).toBe(5);
  });

  test("reports no age for files not checked", () => {
    const report = run(mixedWorld(), { deadlineMs: NOW - 1 });
    expect(report.locks.every((lock) => lock.age_seconds === null)).toBe(true);
  });

  test("reads no file after the deadline", () => {
    const fake = mixedWorld();
    run(fake, { deadlineMs: NOW - 1 });

    expect(fake.methods()).not.toContain("readAt");
    expect(fake.methods()).not.toContain("openCandidate");
  });
});

describe("cleanDirectories: selection", () => {
  function patternWorld(): FakePlatform {
    const fake = new FakePlatform({ now: NOW });
    fake.addFile("/locks", "a.lock", { mtimeMs: OLD });
    fake.addFile("/locks", "b.pid", { mtimeMs: OLD });
    fake.addFile("/locks", "notes.txt", { mtimeMs: OLD });
    fake.addFile("/locks", "sub", { kind: "directory" });
    fake.addFile("/locks/sub", "c.lock", { mtimeMs: OLD });
    fake.addFile("/locks", "dir.lock", { kind: "directory" });
    fake.addFile("/locks", "link", { kind: "symlink" });
    return fake;
  }
  const paths = (report: CleanReport): string[] => report.locks.map((lock) => lock.path);

  test("matches the default pattern only", () => {
    expect(paths(run(patternWorld()))).toEqual(["/locks/a.lock", "/locks/dir.lock"]);
  });

  test("matches another pattern", () => {
    expect(paths(run(patternWorld(), { pattern: "*.pid" }))).toEqual(["/locks/b.pid"]);
  });

  test("never touches a file outside the pattern", () => {
    const fake = patternWorld();
    run(fake, { pattern: "*.pid" });
    expect(fake.exists("/locks", "a.lock")).toBe(true);
  });

  test("reports a matching directory as not-a-lock", () => {
    expect(lockAt(run(patternWorld()), "/locks/dir.lock").verdict).toBe("not-a-lock");
  });

  test("does not descend without --recursive", () => {
    const fake = patternWorld();
    run(fake);
    expect(fake.methods()).not.toContain("openSubdir");
  });

  test("descends into subdirectories with --recursive", () => {
    const fake = patternWorld();
    const report = run(fake, { recursive: true });

    expect(paths(report)).toContain("/locks/sub/c.lock");
    expect(fake.exists("/locks/sub", "c.lock")).toBe(false);
  });

  test("never descends through a symlink", () => {
    const fake = patternWorld();
    run(fake, { recursive: true });
    expect(fake.calls.filter((call) => call.method === "openSubdir").map((call) => call.path)).toEqual(["dir.lock", "sub"]);
  });

  test("closes subdirectories after a recursive run", () => {
    const fake = patternWorld();
    run(fake, { recursive: true });

    const opened = fake.methods().filter((method) => method === "openDir" || method === "openSubdir").length;
    expect(fake.methods().filter((method) => method === "closeDir").length).toBe(opened);
  });

  test("keeps a held file in a subdirectory", () => {
    const fake = patternWorld();
    fake.file("/locks/sub", "c.lock")!.holders.push({ kind: "flock", mode: "write", pid: LIVE_PID });
    expect(lockAt(run(fake, { recursive: true }), "/locks/sub/c.lock").verdict).toBe("held");
  });

  // A subdirectory that cannot be opened vanishes from the report without a word.
  test("reports a subdirectory it cannot open", () => {
    const fake = patternWorld();
    fake.fail("openSubdir", new PlatformError("EACCES", "open directory", "/locks/sub"), { path: "sub" });
    expect(run(fake, { recursive: true }).locks.map((lock) => lock.path)).toContain("/locks/sub");
  });

  // One unlistable subdirectory throws DirectoryError and loses the report of every other file.
  test("continues past an unlistable subdirectory", () => {
    const fake = patternWorld();
    fake.fail("listDir", new PlatformError("EIO", "list directory", "/locks/sub"), { path: "/locks/sub" });
    expect(() => run(fake, { recursive: true })).not.toThrow();
  });
});

describe("cleanDirectories: run scope", () => {
  test("removes files written during the run", () => {
    const fake = new FakePlatform({ now: NOW });
    fake.addFile("/locks", "new.lock", { mtimeMs: NOW - 1000 });
    const report = run(fake, { runScope: { startedAtMs: NOW - MINUTE, pids: new Set() } });

    expect(lockAt(report, "/locks/new.lock").verdict).toBe("orphan");
    expect(fake.exists("/locks", "new.lock")).toBe(false);
  });

  test("removes records naming run pids", () => {
    const fake = new FakePlatform({ now: NOW });
    fake.setProcess(LIVE_PID, { liveness: "alive", startTimeMs: OLD - MINUTE });
    fake.addFile("/locks", "run.lock", { mtimeMs: OLD, content: `${LIVE_PID}\n` });
    run(fake, { runScope: { startedAtMs: NOW - MINUTE, pids: new Set([LIVE_PID]) } });

    expect(fake.exists("/locks", "run.lock")).toBe(false);
  });

  test("keeps young files from before the run", () => {
    const fake = new FakePlatform({ now: NOW });
    fake.addFile("/locks", "before.lock", { mtimeMs: NOW - 2 * MINUTE });
    run(fake, { runScope: { startedAtMs: NOW - MINUTE, pids: new Set() } });

    expect(fake.exists("/locks", "before.lock")).toBe(true);
  });
});

describe("cleanDirectories: display paths", () => {
  const named = (name: Uint8Array | string): string => {
    const fake = new FakePlatform({ now: NOW });
    fake.addFile("/locks", name, { mtimeMs: OLD });
    return run(fake, { pattern: "*" }).locks[0]!.path;
  };

  test("shows a space as is", () => {
    expect(named("my lock.lock")).toBe("/locks/my lock.lock");
  });

  test("escapes a newline", () => {
    expect(named("a\nb.lock")).toBe("/locks/a\\nb.lock");
  });

  test("escapes a backslash", () => {
    expect(named("a\\b.lock")).toBe("/locks/a\\\\b.lock");
  });

  test("escapes invalid UTF-8 bytes", () => {
    expect(named(new Uint8Array([0x61, 0xff, 0x2e, 0x6c, 0x6f, 0x63, 0x6b]))).toBe("/locks/a\\xff.lock");
  });

  test("removes a file with an invalid UTF-8 name", () => {
    const fake = new FakePlatform({ now: NOW });
    const name = new Uint8Array([0x61, 0xff, 0x2e, 0x6c, 0x6f, 0x63, 0x6b]);
    fake.addFile("/locks", name, { mtimeMs: OLD });
    run(fake);

    expect(fake.exists("/locks", name)).toBe(false);
  });
});

describe("displayBytes", () => {
  const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

  test("keeps printable UTF-8", () => {
    expect(displayBytes(encode("größe é.lock"))).toBe("größe é.lock");
  });

  test("escapes a tab", () => {
    expect(displayBytes(encode("a\tb"))).toBe("a\\tb");
  });

  test("escapes an escape character", () => {
    expect(displayBytes(encode("a\x1b[2Jb"))).toBe("a\\x1b[2Jb");
  });

  test("escapes DEL", () => {
    expect(displayBytes(encode("a\x7f"))).toBe("a\\x7f");
  });

  test("escapes a backslash next to invalid UTF-8", () => {
    expect(displayBytes(new Uint8Array([0x5c, 0xfe]))).toBe("\\\\\\xfe");
  });

  test("escapes every non-ASCII byte of an invalid name", () => {
    expect(displayBytes(new Uint8Array([0xc3, 0xa9, 0xff]))).toBe("\\xc3\\xa9\\xff");
  });

  // C1 controls such as U+009B (CSI) act as escape sequences on some terminals.
  test("escapes C1 control characters", () => {
    expect(displayBytes(encode("a\u009b2Jb"))).not.toContain("\u009b");
  });
});
