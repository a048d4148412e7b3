import { describe, expect, test } from "bun:test";
import type { LockEntry } from "../../src/core/classify.ts";
import { removeThroughProtocol, sameFile, type RemovalHooks, type RemovalOutcome } from "../../src/core/remove.ts";
import { FakePlatform, type FakeCall, type FakeFile, type FakeFileSpec } from "../../src/platform/fake.ts";
import { PlatformError } from "../../src/platform/types.ts";

const NOW = Date.UTC(2026, 0, 1, 12);
/** No fake process has this pid, so the fake reports it as dead. */
const DEAD_PID = 999_999;
const OTHER_PID = 3000;
const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

const PROTOCOL = ["openCandidate", "statHandle", "tryLock", "statAt", "beginSoleOpener", "unlinkHeld", "endSoleOpener", "closeCandidate"];

function world(spec: FakeFileSpec = {}): { fake: FakePlatform; entry: LockEntry } {
  const fake = new FakePlatform({ now: NOW });
  fake.addFile("/locks", "a.lock", { content: `${DEAD_PID}\n`, mtimeMs: NOW - 60_000, ...spec });
  const dir = fake.openDir("/locks");
  const name = encode("a.lock");
  const stat = fake.statAt(dir, name);
  if (stat === null) throw new Error("fake entry is missing");
  fake.calls.length = 0;
  return { fake, entry: { dir, name, displayPath: "/locks/a.lock", stat } };
}

function kept(outcome: RemovalOutcome): Extract<RemovalOutcome, { removed: false }> {
  if (outcome.removed) throw new Error("expected the file to be kept, but it was removed");
  return outcome;
}

const remove = (fake: FakePlatform, entry: LockEntry, hooks?: RemovalHooks): RemovalOutcome => removeThroughProtocol(fake, entry, hooks);

describe("removeThroughProtocol: success", () => {
  test("calls the primitives in protocol order", () => {
    const { fake, entry } = world();
    remove(fake, entry);
    expect(fake.methods()).toEqual(PROTOCOL);
  });

  test("removes an unchanged unheld file", () => {
    const { fake, entry } = world();
    const outcome = remove(fake, entry);

    expect(outcome).toEqual({ removed: true });
    expect(fake.exists("/locks", "a.lock")).toBe(false);
    expect(fake.openHandleCount()).toBe(0);
  });

  test("warns when a process opened it during the unlink", () => {
    const { fake, entry } = world();
    fake.on("unlinkHeld", () => fake.file("/locks", "a.lock")!.openers.push(OTHER_PID));
    const outcome = remove(fake, entry);

    expect(outcome).toEqual({ removed: true, warning: "another process opened the file while it was being removed" });
  });
});

describe("removeThroughProtocol: races", () => {
  test("keeps a file that vanished before opening", () => {
    const { fake, entry } = world();
    fake.removeFile("/locks", "a.lock");
    const outcome = kept(remove(fake, entry));

    expect(outcome.reason).toContain("vanished");
    expect(outcome.failed).toBe(false);
    expect(fake.methods()).toEqual(["openCandidate"]);
  });

  test("keeps a file replaced before opening", () => {
    const { fake, entry } = world();
    const replacement = fake.addFile("/locks", "a.lock", { content: `${DEAD_PID}\n`, mtimeMs: entry.stat.mtimeMs });
    const outcome = kept(remove(fake, entry));

    expect(outcome.reason).toContain("changed after the verdict");
    expect(fake.file("/locks", "a.lock")).toBe(replacement);
    expect(fake.methods()).not.toContain("tryLock");
  });

  test("keeps a file rewritten after the verdict", () => {
    const { fake, entry } = world();
    fake.file("/locks", "a.lock")!.content = encode(`${OTHER_PID}\n`);
    const outcome = kept(remove(fake, entry));

    expect(outcome.reason).toContain("changed after the verdict");
    expect(fake.exists("/locks", "a.lock")).toBe(true);
  });

  test("keeps a file touched after the verdict", () => {
    const { fake, entry } = world();
    fake.file("/locks", "a.lock")!.mtimeMs = NOW;
    expect(kept(remove(fake, entry)).reason).toContain("changed after the verdict");
  });

  test("keeps a file replaced after opening", () => {
    const { fake, entry } = world();
    let replacement: FakeFile | undefined;
    const outcome = kept(remove(fake, entry, {
      afterOpen: () => {
        replacement = fake.addFile("/locks", "a.lock");
      },
    }));

    expect(outcome.reason).toContain("replaced by another file");
    expect(fake.file("/locks", "a.lock")).toBe(replacement);
  });

  test("keeps a file replaced after locking", () => {
    const { fake, entry } = world();
    let replacement: FakeFile | undefined;
    const outcome = kept(remove(fake, entry, {
      afterLock: () => {
        replacement = fake.addFile("/locks", "a.lock");
      },
    }));

    expect(outcome.reason).toContain("replaced by another file");
    expect(fake.file("/locks", "a.lock")).toBe(replacement);
    expect(fake.methods()).not.toContain("unlinkHeld");
  });

  test("keeps a file removed after locking", () => {
    const { fake, entry } = world();
    const outcome = kept(remove(fake, entry, { afterLock: () => fake.removeFile("/locks", "a.lock") }));

    expect(outcome.reason).toContain("vanished");
    expect(outcome.failed).toBe(false);
  });

  test("keeps a file locked after the verdict as held", () => {
    const { fake, entry } = world();
    const lockIt = (): void => void fake.file("/locks", "a.lock")!.holders.push({ kind: "flock", mode: "write", pid: OTHER_PID });
    const outcome = kept(remove(fake, entry, { afterOpen: lockIt }));

    expect(outcome.verdict).toBe("held");
    expect(outcome.reason).toBe(`locked by pid ${OTHER_PID} just before removal (checked with fake)`);
    expect(fake.exists("/locks", "a.lock")).toBe(true);
    expect(fake.methods()).not.toContain("unlinkHeld");
  });

  test("keeps a file locked by an unnamed holder", () => {
    const { fake, entry } = world({ holders: [{ kind: "ofd", mode: "write", pid: null }] });
    expect(kept(remove(fake, entry)).reason).toBe("locked just before removal (checked with fake)");
  });

  test("keeps a file an opener appeared on as open", () => {
    const { fake, entry } = world();
    const outcome = kept(remove(fake, entry, { afterLock: () => void fake.file("/locks", "a.lock")!.openers.push(OTHER_PID) }));

    expect(outcome.verdict).toBe("open");
    expect(outcome.reason).toContain(`by pid ${OTHER_PID}`);
    expect(fake.exists("/locks", "a.lock")).toBe(true);
  });

  test("disarms the opener check when keeping an open file", () => {
    const { fake, entry } = world({ openers: [OTHER_PID] });
    remove(fake, entry);
    expect(fake.methods()).toEqual(["openCandidate", "statHandle", "tryLock", "statAt", "beginSoleOpener", "endSoleOpener", "closeCandidate"]);
  });

  test("keeps a file whose openers are unknown as error", () => {
    const { fake, entry } = world({ openCheck: { state: "unknown", method: "/proc/*/fd", reason: "EACCES" } });
    const outcome = kept(remove(fake, entry));

    expect(outcome.verdict).toBe("error");
    expect(outcome.failed).toBe(false);
    expect(fake.exists("/locks", "a.lock")).toBe(true);
  });
});

describe("removeThroughProtocol: errors", () => {
  const steps: FakeCall["method"][] = ["openCandidate", "statHandle", "statAt", "beginSoleOpener", "unlinkHeld"];
  for (const step of steps) {
    test(`reports a failure at ${step} as error`, () => {
      const { fake, entry } = world();
      fake.fail(step, new PlatformError("EIO", step, "a.lock"));
      const outcome = kept(remove(fake, entry));

      expect(outcome.verdict).toBe("error");
      expect(outcome.failed).toBe(true);
      expect(outcome.reason).toContain("EIO");
      expect(fake.openHandleCount()).toBe(0);
    });
  }

  test("reports a failed tryLock as error", () => {
    const { fake, entry } = world();
    fake.tryLock = () => ({ state: "error", error: new PlatformError("ENOLCK", "flock", "a.lock") });
    const outcome = kept(remove(fake, entry));

    expect(outcome.verdict).toBe("error");
    expect(outcome.failed).toBe(true);
    expect(outcome.reason).toBe('removal failed at lock: flock "a.lock" failed: ENOLCK');
    expect(fake.openHandleCount()).toBe(0);
  });

  test("keeps the file when unlink fails", () => {
    const { fake, entry } = world();
    fake.fail("unlinkHeld", new PlatformError("EPERM", "unlinkat", "a.lock"));
    remove(fake, entry);
    expect(fake.exists("/locks", "a.lock")).toBe(true);
  });

  test("disarms the opener check when unlink fails", () => {
    const { fake, entry } = world();
    fake.fail("unlinkHeld", new PlatformError("EPERM", "unlinkat", "a.lock"));
    remove(fake, entry);
    expect(fake.methods().slice(-2)).toEqual(["endSoleOpener", "closeCandidate"]);
  });

  test("keeps a file replaced by a symlink", () => {
    const { fake, entry } = world();
    fake.addFile("/locks", "a.lock", { kind: "symlink" });
    const outcome = kept(remove(fake, entry));

    expect(outcome.reason).toContain("symlink");
    expect(outcome.verdict).toBeUndefined();
    expect(outcome.failed).toBe(false);
  });

  for (const code of ["EAGAIN", "EWOULDBLOCK"]) {
    test(`keeps a leased file on ${code} as open`, () => {
      const { fake, entry } = world();
      fake.fail("openCandidate", new PlatformError(code, "open", "a.lock"));
      const outcome = kept(remove(fake, entry));

      expect(outcome.verdict).toBe("open");
      expect(outcome.failed).toBe(false);
    });
  }

  test("rethrows an error that is no PlatformError", () => {
    const { fake, entry } = world();
    fake.on("statAt", () => {
      throw new TypeError("bug");
    });

    expect(() => remove(fake, entry)).toThrow(TypeError);
    expect(fake.openHandleCount()).toBe(0);
  });

  // A failing close must not turn a finished removal into an exception that
  // aborts the whole clean run and loses its report.
  test("reports a failed close instead of throwing", () => {
    const { fake, entry } = world();
    fake.fail("closeCandidate", new PlatformError("EIO", "close", "a.lock"));

    expect(() => remove(fake, entry)).not.toThrow();
  });
});

describe("sameFile", () => {
  const stat = { kind: "file" as const, dev: "0:42", ino: 7n, size: 1, mtimeMs: 5, nlink: 1, uid: 0 };

  test("matches the same device and inode", () => {
    expect(sameFile(stat, { ...stat, size: 9, mtimeMs: 6 })).toBe(true);
  });

  test("rejects another inode", () => {
    expect(sameFile(stat, { ...stat, ino: 8n })).toBe(false);
  });

  test("rejects another device", () => {
    expect(sameFile(stat, { ...stat, dev: "0:43" })).toBe(false);
  });
});
