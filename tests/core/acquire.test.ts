import { describe, expect, test } from "bun:test";
import { acquireLock, LockError, type AcquireContext } from "../../src/core/acquire.ts";
import { parseOwnerRecord } from "../../src/core/owner-record.ts";
import { FakePlatform } from "../../src/platform/fake.ts";
import { PlatformError } from "../../src/platform/types.ts";

/** A pid the fake reports as alive but that is not the fake's own pid. */
const OTHER_PID = 5151;
/** A pid the fake has no process for, so it reads as dead. */
const DEAD_PID = 9191;

/** Context whose sleep advances the fake clock instead of waiting. */
function contextFor(fake: FakePlatform, extra: Partial<AcquireContext> = {}): AcquireContext & { sleeps: number[] } {
  const sleeps: number[] = [];
  return {
    platform: fake,
    tool: "jerrylock test",
    sleeps,
    sleep: async (ms) => {
      sleeps.push(ms);
      fake.advance(Math.max(1, ms));
    },
    ...extra,
  };
}

function recordOf(fake: FakePlatform, dir: string, name: string) {
  const file = fake.file(dir, name);
  if (file === undefined) throw new Error(`no file ${dir}/${name}`);
  const parsed = parseOwnerRecord(file.content, fake.maxPid);
  if (parsed.kind !== "record") throw new Error(`no owner record in ${dir}/${name}: ${parsed.kind}`);
  return { record: parsed.record, terminated: parsed.terminated };
}

describe("acquireLock", () => {
  test("creates a missing file and writes the owner record", async () => {
    const fake = new FakePlatform({ selfPid: 4242 }).addDir("/locks");
    fake.setProcess(4242, { liveness: "alive", startId: "777", startTimeMs: 1_000, command: "jerrylock" });

    const lock = await acquireLock("/locks/a.lock", {}, contextFor(fake));

    const { record, terminated } = recordOf(fake, "/locks", "a.lock");
    expect(record.pid).toBe(4242);
    expect(record.host).toBe("fakehost");
    expect(record.bootId).toBe("fake-boot-1");
    expect(record.pidNamespace).toBe("pid:[4026531836]");
    expect(record.startId).toBe("777");
    expect(record.tool).toBe("jerrylock test");
    expect(terminated).toBe(true);
    await lock.release();
  });

  test("release removes the file while it is still locked", async () => {
    const fake = new FakePlatform().addDir("/locks");
    const lock = await acquireLock("/locks/a.lock", {}, contextFor(fake));

    const outcome = await lock.release();

    expect(outcome).toEqual({ removed: true });
    expect(fake.exists("/locks", "a.lock")).toBe(false);
    const methods = fake.methods();
    expect(methods.lastIndexOf("unlinkHeld")).toBeLessThan(methods.lastIndexOf("closeCandidate"));
    expect(fake.openHandleCount()).toBe(0);
  });

  test("checks the name after locking, in protocol order", async () => {
    const fake = new FakePlatform().addDir("/locks");
    const lock = await acquireLock("/locks/a.lock", {}, contextFor(fake));

    const fileCalls = fake.methods().filter((method) => ["createCandidate", "statHandle", "tryLock", "statAt", "writeRecord"].includes(method));
    expect(fileCalls).toEqual(["statAt", "createCandidate", "statHandle", "tryLock", "statAt", "writeRecord"]);
    await lock.release();
  });

  test("second release does nothing", async () => {
    const fake = new FakePlatform().addDir("/locks");
    const lock = await acquireLock("/locks/a.lock", {}, contextFor(fake));
    await lock.release();
    const callsAfterFirst = fake.calls.length;

    await lock.release();

    expect(fake.calls.length).toBe(callsAfterFirst);
  });

  test("nonblocking conflict names the holder", async () => {
    const fake = new FakePlatform().addDir("/locks");
    fake.setProcess(OTHER_PID, { liveness: "alive", command: "make" });
    fake.addFile("/locks", "a.lock", { holders: [{ kind: "flock", mode: "write", pid: OTHER_PID }] });

    const error = await acquireLock("/locks/a.lock", { wait: false }, contextFor(fake)).catch((caught) => caught);

    expect(error).toBeInstanceOf(LockError);
    expect(error.code).toBe("ELOCKED");
    expect(error.holder).toEqual({ pid: OTHER_PID, command: "make", alive: true });
    expect(error.message).toContain(`pid ${OTHER_PID} (make)`);
    expect(fake.openHandleCount()).toBe(0);
  });

  test("holder without a pid is named from the owner record", async () => {
    const fake = new FakePlatform().addDir("/locks");
    fake.setProcess(OTHER_PID, { liveness: "alive", command: "worker" });
    fake.addFile("/locks", "a.lock", { content: `{"pid":${OTHER_PID}}\n`, holders: [{ kind: "ofd", mode: "write", pid: null }] });

    const error = await acquireLock("/locks/a.lock", { wait: false }, contextFor(fake)).catch((caught) => caught);

    expect(error.holder?.pid).toBe(OTHER_PID);
  });

  test("gives up with ETIMEDOUT after the timeout", async () => {
    const fake = new FakePlatform().addDir("/locks");
    fake.setProcess(OTHER_PID, { liveness: "alive" });
    fake.addFile("/locks", "a.lock", { holders: [{ kind: "flock", mode: "write", pid: OTHER_PID }] });
    const startedAt = fake.now();
    const context = contextFor(fake);

    const error = await acquireLock("/locks/a.lock", { timeoutMs: 1000 }, context).catch((caught) => caught);

    expect(error.code).toBe("ETIMEDOUT");
    expect(fake.now() - startedAt).toBeGreaterThanOrEqual(1000);
    expect(fake.now() - startedAt).toBeLessThan(1100);
    expect(Math.max(...context.sleeps)).toBeLessThanOrEqual(50);
  });

  test("waits until the holder releases", async () => {
    const fake = new FakePlatform().addDir("/locks");
    fake.setProcess(OTHER_PID, { liveness: "alive" });
    const file = fake.addFile("/locks", "a.lock", { holders: [{ kind: "flock", mode: "write", pid: OTHER_PID }] });
    let polls = 0;
    const context = contextFor(fake, {
      sleep: async () => {
        polls += 1;
        if (polls === 5) file.holders = [];
      },
    });

    const lock = await acquireLock("/locks/a.lock", {}, context);

    expect(polls).toBe(5);
    expect(recordOf(fake, "/locks", "a.lock").record.pid).toBe(fake.selfPid());
    await lock.release();
  });

  test("starts over when the name was replaced after locking", async () => {
    const fake = new FakePlatform().addDir("/locks");
    const first = fake.addFile("/locks", "a.lock");
    const context = contextFor(fake, {
      afterLock: (attempt) => {
        // The previous holder removes the name, and a newcomer creates a new file.
        if (attempt === 1) {
          fake.removeFile("/locks", "a.lock");
          fake.addFile("/locks", "a.lock");
        }
      },
    });

    const lock = await acquireLock("/locks/a.lock", {}, context);

    expect(fake.methods().filter((method) => method === "tryLock").length).toBe(2);
    expect(fake.file("/locks", "a.lock")?.ino).not.toBe(first.ino);
    expect(first.content.length).toBe(0);
    expect(recordOf(fake, "/locks", "a.lock").record.pid).toBe(fake.selfPid());
    await lock.release();
  });

  test("starts over when the name vanished after locking", async () => {
    const fake = new FakePlatform().addDir("/locks");
    fake.addFile("/locks", "a.lock");
    const context = contextFor(fake, {
      afterLock: (attempt) => {
        if (attempt === 1) fake.removeFile("/locks", "a.lock");
      },
    });

    const lock = await acquireLock("/locks/a.lock", {}, context);

    expect(fake.exists("/locks", "a.lock")).toBe(true);
    expect(fake.methods().filter((method) => method === "createCandidate").length).toBe(2);
    await lock.release();
  });

  test("takes over the file of a dead holder", async () => {
    const fake = new FakePlatform().addDir("/locks");
    const stale = fake.addFile("/locks", "a.lock", { content: `{"pid":${DEAD_PID},"host":"fakehost"}\n` });

    const lock = await acquireLock("/locks/a.lock", { wait: false }, contextFor(fake));

    expect(fake.file("/locks", "a.lock")?.ino).toBe(stale.ino);
    expect(recordOf(fake, "/locks", "a.lock").record.pid).toBe(fake.selfPid());
    expect(fake.methods()).not.toContain("unlinkHeld");
    await lock.release();
  });

  test("rejects a symlink without opening it", async () => {
    const fake = new FakePlatform().addDir("/locks");
    fake.addFile("/locks", "a.lock", { kind: "symlink" });

    const error = await acquireLock("/locks/a.lock", {}, contextFor(fake)).catch((caught) => caught);

    expect(error.code).toBe("ELOOP");
    expect(fake.methods()).not.toContain("createCandidate");
  });

  test("rejects a fifo without opening it", async () => {
    const fake = new FakePlatform().addDir("/locks");
    fake.addFile("/locks", "a.lock", { kind: "fifo" });

    const error = await acquireLock("/locks/a.lock", {}, contextFor(fake)).catch((caught) => caught);

    expect(error.code).toBe("ENOTREG");
    expect(fake.methods()).not.toContain("createCandidate");
  });

  test("symlink swapped in before the open fails with ELOOP", async () => {
    const fake = new FakePlatform().addDir("/locks");
    fake.fail("createCandidate", new PlatformError("ELOOP", "open", "/locks/a.lock"));

    const error = await acquireLock("/locks/a.lock", {}, contextFor(fake)).catch((caught) => caught);

    expect(error.code).toBe("ELOOP");
  });

  test("EAGAIN from a cleaner's lease means poll again", async () => {
    const fake = new FakePlatform().addDir("/locks");
    fake.fail("createCandidate", new PlatformError("EAGAIN", "open", "/locks/a.lock"), { times: 2 });
    const context = contextFor(fake);

    const lock = await acquireLock("/locks/a.lock", {}, context);

    expect(context.sleeps.length).toBe(2);
    await lock.release();
  });

  test("other open errors carry the errno code", async () => {
    const fake = new FakePlatform().addDir("/locks");
    fake.fail("createCandidate", new PlatformError("EACCES", "open", "/locks/a.lock"));

    const error = await acquireLock("/locks/a.lock", {}, contextFor(fake)).catch((caught) => caught);

    expect(error).toBeInstanceOf(LockError);
    expect(error.code).toBe("EACCES");
    expect(error.path).toBe("/locks/a.lock");
  });

  test("missing directory fails with ENOENT", async () => {
    const fake = new FakePlatform();

    const error = await acquireLock("/nowhere/a.lock", {}, contextFor(fake)).catch((caught) => caught);

    expect(error.code).toBe("ENOENT");
  });

  test("abort ends the wait with EABORTED", async () => {
    const fake = new FakePlatform().addDir("/locks");
    fake.setProcess(OTHER_PID, { liveness: "alive" });
    fake.addFile("/locks", "a.lock", { holders: [{ kind: "flock", mode: "write", pid: OTHER_PID }] });
    const abort = new AbortController();
    let polls = 0;
    const context = contextFor(fake, {
      sleep: async () => {
        polls += 1;
        if (polls === 3) abort.abort();
      },
    });

    const error = await acquireLock("/locks/a.lock", { signal: abort.signal }, context).catch((caught) => caught);

    expect(error.code).toBe("EABORTED");
    expect(fake.openHandleCount()).toBe(0);
  });

  test("release keeps a file another process has open", async () => {
    const fake = new FakePlatform().addDir("/locks");
    const lock = await acquireLock("/locks/a.lock", {}, contextFor(fake));
    fake.file("/locks", "a.lock")!.openers = [OTHER_PID];

    const outcome = await lock.release();

    expect(outcome).toMatchObject({ removed: false, cause: "open" });
    expect(fake.exists("/locks", "a.lock")).toBe(true);
    expect(fake.openHandleCount()).toBe(0);
  });

  test("release removes the file once a brief opener is gone", async () => {
    const fake = new FakePlatform().addDir("/locks");
    const lock = await acquireLock("/locks/a.lock", {}, contextFor(fake));
    const file = fake.file("/locks", "a.lock")!;
    file.openers = [OTHER_PID];
    fake.on("endSoleOpener", () => {
      file.openers = [];
    });

    const outcome = await lock.release();

    expect(outcome).toEqual({ removed: true });
  });

  test("release with keepFile releases without removing", async () => {
    const fake = new FakePlatform().addDir("/locks");
    const lock = await acquireLock("/locks/a.lock", {}, contextFor(fake));

    const outcome = await lock.release("a child may still hold it");

    expect(outcome).toEqual({ removed: false, cause: "requested", reason: "a child may still hold it" });
    expect(fake.exists("/locks", "a.lock")).toBe(true);
    expect(fake.openHandleCount()).toBe(0);
  });

  test("release leaves a replaced name alone", async () => {
    const fake = new FakePlatform().addDir("/locks");
    const lock = await acquireLock("/locks/a.lock", {}, contextFor(fake));
    const replacement = fake.addFile("/locks", "a.lock");

    const outcome = await lock.release();

    expect(outcome).toMatchObject({ removed: false, cause: "replaced" });
    expect(fake.file("/locks", "a.lock")).toBe(replacement);
    expect(fake.methods()).not.toContain("unlinkHeld");
  });

  test("release keeps the file when openers cannot be checked", async () => {
    const fake = new FakePlatform().addDir("/locks");
    const lock = await acquireLock("/locks/a.lock", {}, contextFor(fake));
    fake.file("/locks", "a.lock")!.openCheck = { state: "unknown", method: "fake", reason: "EACCES" };

    const outcome = await lock.release();

    expect(outcome).toMatchObject({ removed: false, cause: "unknown" });
    expect(fake.exists("/locks", "a.lock")).toBe(true);
  });
});
