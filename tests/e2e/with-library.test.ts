// The library entry point on the real platform: acquire, withLock, and the
// clean and ls reports, compared with what the compiled binary prints.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { acquire, clean, LockError, ls, withLock } from "../../src/lib.ts";
import { JERRYLOCK, runToEnd, temporaryDir } from "./fixtures/with-harness.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function lockDir(): string {
  const dir = temporaryDir();
  dirs.push(dir);
  return dir;
}

/** Drops the fields that change from one run to the next, so two reports compare equal. */
function stable(report: { locks: { age_seconds: number | null }[]; summary: { duration_ms: number } }): unknown {
  return {
    ...report,
    locks: report.locks.map((lock) => ({ ...lock, age_seconds: 0 })),
    summary: { ...report.summary, duration_ms: 0 },
  };
}

describe("library", () => {
  test("acquire creates the file and release removes it", async () => {
    const path = join(lockDir(), "a.lock");

    const lock = await acquire(path);
    const existedWhileHeld = existsSync(path);
    const outcome = await lock.release();

    expect(existedWhileHeld).toBe(true);
    expect(lock.record.pid).toBe(process.pid);
    expect(outcome).toEqual({ removed: true });
    expect(existsSync(path)).toBe(false);
  });

  test("a second acquire in one process conflicts", async () => {
    const path = join(lockDir(), "a.lock");
    await using _held = await acquire(path);

    const error = await acquire(path, { wait: false }).catch((caught) => caught);

    expect(error).toBeInstanceOf(LockError);
    expect(error.code).toBe("ELOCKED");
    expect(error.holder.pid).toBe(process.pid);
  });

  test("await using releases at the end of the block", async () => {
    const path = join(lockDir(), "a.lock");

    {
      await using _lock = await acquire(path);
    }

    expect(existsSync(path)).toBe(false);
  });

  test("withLock releases when fn throws", async () => {
    const path = join(lockDir(), "a.lock");

    const error = await withLock(path, () => {
      throw new Error("inside");
    }).catch((caught) => caught);
    const value = await withLock(path, () => 42, { wait: false });

    expect(error.message).toBe("inside");
    expect(value).toBe(42);
    expect(existsSync(path)).toBe(false);
  });

  test("timeoutMs rejects with ETIMEDOUT", async () => {
    const path = join(lockDir(), "a.lock");
    await using _held = await acquire(path);

    const error = await acquire(path, { timeoutMs: 100 }).catch((caught) => caught);

    expect(error.code).toBe("ETIMEDOUT");
  });

  test("ls and clean return the reports --json prints", async () => {
    const dir = lockDir();
    writeFileSync(join(dir, "dead.lock"), '{"pid":4194304}\n');
    writeFileSync(join(dir, "empty.lock"), "");
    // Two hours old, so the reason reads the same in both reports.
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(join(dir, "empty.lock"), twoHoursAgo, twoHoursAgo);

    const listed = ls(dir);
    const printed = JSON.parse((await runToEnd([JERRYLOCK, "ls", "--json", dir])).stdout);
    const cleaned = clean(dir, { maxAgeMs: 0 });

    expect(stable(listed)).toEqual(stable(printed));
    expect(cleaned.summary.removed).toBe(2);
    expect(existsSync(join(dir, "dead.lock"))).toBe(false);
  });
});
