// The macOS rules, run on any OS against a fake of the libSystem layer:
// liveness from kill(pid, 0) and proc_pidinfo, verdicts through the core's
// classify, and the removal protocol with flock, POSIX locks and openers.
import { describe, expect, test } from "bun:test";
import { classify, type LockEntry } from "../../src/core/classify.ts";
import { removeThroughProtocol } from "../../src/core/remove.ts";
import { S_IFIFO, S_IFLNK } from "../../src/platform/darwin-api.ts";
import { createDarwinPlatform, DARWIN_MAX_PID, inspectDarwinProcess, statFromDarwin } from "../../src/platform/darwin.ts";
import type { Platform } from "../../src/platform/types.ts";
import { FakeDarwin, READ_LOCK, WRITE_LOCK } from "./fake-darwin.ts";

const DIR = "/Users/dev/locks";
const OWNER_PID = 5123;
const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

function setup(): { api: FakeDarwin; platform: Platform } {
  const api = new FakeDarwin();
  api.entries(DIR);
  return { api, platform: createDarwinPlatform(api, "darwin-arm64") };
}

function entryOf(platform: Platform, name: string): LockEntry | null {
  const dir = platform.openDir(DIR);
  const stat = platform.statAt(dir, encode(name));
  return stat === null ? null : { dir, name: encode(name), displayPath: `${DIR}/${name}`, stat };
}

function verdictOf(api: FakeDarwin, platform: Platform, name: string): string {
  const entry = entryOf(platform, name)!;
  const decision = classify(entry, { platform, scan: platform.beginScan(entry.dir), host: platform.host(), now: api.clockMs, maxAgeMs: 300_000, checkOpen: true });
  return decision?.verdict ?? "gone";
}

/** A pid-only record (lockfile-create --use-pid style), ten minutes old. */
function addRecord(api: FakeDarwin, name: string, pid: number) {
  return api.addFile(DIR, name, `${pid}\n`, { mtimeMs: api.clockMs - 600_000 });
}

describe("inspectDarwinProcess", () => {
  test("running process is alive with start time", () => {
    const api = new FakeDarwin();
    api.processes.set(OWNER_PID, { state: "running", startMs: 1_700_000_000_250, command: "make" });

    const info = inspectDarwinProcess(api, OWNER_PID);
    expect(info.liveness).toBe("alive");
    expect(info.startTimeMs).toBe(1_700_000_000_250);
    expect(info.startId).toBe("1700000000.250000");
    expect(info.command).toBe("make");
  });

  test("ESRCH means dead", () => {
    expect(inspectDarwinProcess(new FakeDarwin(), OWNER_PID).liveness).toBe("dead");
  });

  test("EPERM means alive", () => {
    const api = new FakeDarwin();
    api.processes.set(OWNER_PID, { state: "other-user", startMs: 5_000 });

    const info = inspectDarwinProcess(api, OWNER_PID);
    expect(info.liveness).toBe("alive");
    expect(info.startTimeMs).toBe(5_000);
  });

  test("EPERM without process info is alive", () => {
    const api = new FakeDarwin();
    api.processes.set(OWNER_PID, { state: "hidden", startMs: 5_000 });

    const info = inspectDarwinProcess(api, OWNER_PID);
    expect(info.liveness).toBe("alive");
    expect(info.startTimeMs).toBeUndefined();
  });

  test("zombie is dead", () => {
    const api = new FakeDarwin();
    api.processes.set(OWNER_PID, { state: "zombie", startMs: 5_000 });

    expect(inspectDarwinProcess(api, OWNER_PID).liveness).toBe("dead");
  });

  test("dev splits major and minor", () => {
    const stat = statFromDarwin({ mode: 0o100644, dev: (1 << 24) | 17, ino: 9n, nlink: 1, uid: 501, size: 0, mtimeMs: 0 });
    expect(stat.dev).toBe("1:17");
  });

  test("maxPid is the XNU limit", () => {
    expect(DARWIN_MAX_PID).toBe(99_998);
  });
});

describe("macOS verdicts", () => {
  test("record of a live owner is live-owner", () => {
    const { api, platform } = setup();
    api.processes.set(OWNER_PID, { state: "running", startMs: api.clockMs - 3_600_000 });
    addRecord(api, "a.lock", OWNER_PID);

    expect(verdictOf(api, platform, "a.lock")).toBe("live-owner");
  });

  test("record of a dead owner is stale", () => {
    const { api, platform } = setup();
    addRecord(api, "a.lock", OWNER_PID);

    expect(verdictOf(api, platform, "a.lock")).toBe("stale");
  });

  test("record of another user's process is live-owner", () => {
    const { api, platform } = setup();
    api.processes.set(OWNER_PID, { state: "hidden", startMs: 0 });
    addRecord(api, "a.lock", OWNER_PID);

    expect(verdictOf(api, platform, "a.lock")).toBe("live-owner");
  });

  test("reused pid is stale", () => {
    const { api, platform } = setup();
    api.processes.set(OWNER_PID, { state: "running", startMs: api.clockMs - 60_000 });
    addRecord(api, "a.lock", OWNER_PID);

    expect(verdictOf(api, platform, "a.lock")).toBe("stale");
  });

  test("record from an earlier boot is stale", () => {
    const { api, platform } = setup();
    api.processes.set(OWNER_PID, { state: "running", startMs: api.clockMs - 3_600_000 });
    api.addFile(DIR, "a.lock", `{"pid":${OWNER_PID},"host":"machost","boot_id":"OLD-BOOT"}\n`, { mtimeMs: api.clockMs - 600_000 });

    expect(verdictOf(api, platform, "a.lock")).toBe("stale");
  });

  test("POSIX lock is held with its pid", () => {
    const { api, platform } = setup();
    api.processes.set(OWNER_PID, { state: "running", startMs: 0 });
    api.addFile(DIR, "a.lock", "", { locks: [{ type: WRITE_LOCK, pid: OWNER_PID }] });
    const entry = entryOf(platform, "a.lock")!;

    expect(platform.beginScan(entry.dir).held(entry.stat, entry.name, entry.dir)).toMatchObject({
      state: "held",
      holders: [{ kind: "posix", mode: "write", pid: OWNER_PID }],
    });
    expect(verdictOf(api, platform, "a.lock")).toBe("held");
  });

  test("flock lock is held without a pid", () => {
    const { api, platform } = setup();
    api.addFile(DIR, "a.lock", "", { locks: [{ type: READ_LOCK, pid: -1 }] });
    const entry = entryOf(platform, "a.lock")!;

    expect(platform.beginScan(entry.dir).held(entry.stat, entry.name, entry.dir)).toMatchObject({
      state: "held",
      holders: [{ kind: "flock", mode: "read", pid: null }],
    });
  });

  test("file another process has open is open", () => {
    const { api, platform } = setup();
    const file = addRecord(api, "a.lock", OWNER_PID);
    file.openers.push(OWNER_PID + 1);

    expect(verdictOf(api, platform, "a.lock")).toBe("open");
  });

  test("held probe never opens a fifo", () => {
    const { api, platform } = setup();
    api.addFile(DIR, "pipe.lock", "", { mode: S_IFIFO | 0o644 });
    const entry = entryOf(platform, "pipe.lock")!;

    expect(platform.beginScan(entry.dir).held(entry.stat, entry.name, entry.dir).state).toBe("unknown");
    expect(api.openFdCount()).toBe(1);
  });
});

describe("macOS removal protocol", () => {
  test("removes an unheld, unopened stale file", () => {
    const { api, platform } = setup();
    addRecord(api, "a.lock", OWNER_PID);
    const entry = entryOf(platform, "a.lock")!;

    expect(removeThroughProtocol(platform, entry)).toEqual({ removed: true });
    expect(api.exists(DIR, "a.lock")).toBe(false);
    platform.closeDir(entry.dir);
    expect(api.openFdCount()).toBe(0);
  });

  test("keeps a file with a flock holder", () => {
    const { api, platform } = setup();
    const file = addRecord(api, "a.lock", OWNER_PID);
    file.locks.push({ type: WRITE_LOCK, pid: -1 });

    expect(removeThroughProtocol(platform, entryOf(platform, "a.lock")!)).toMatchObject({ removed: false, verdict: "held" });
    expect(api.exists(DIR, "a.lock")).toBe(true);
  });

  test("keeps a file another process has open", () => {
    const { api, platform } = setup();
    const file = addRecord(api, "a.lock", OWNER_PID);
    file.openers.push(OWNER_PID + 1);

    expect(removeThroughProtocol(platform, entryOf(platform, "a.lock")!)).toMatchObject({ removed: false, verdict: "open" });
    expect(api.exists(DIR, "a.lock")).toBe(true);
  });

  test("symlink swapped in is never followed", () => {
    const { api, platform } = setup();
    addRecord(api, "a.lock", OWNER_PID);
    const entry = entryOf(platform, "a.lock")!;
    api.addFile(DIR, "a.lock", "", { mode: S_IFLNK | 0o777 });

    expect(removeThroughProtocol(platform, entry)).toMatchObject({ removed: false });
    expect(api.exists(DIR, "a.lock")).toBe(true);
  });
});

describe("macOS host identity", () => {
  test("boot id is the boot session UUID", () => {
    const { platform } = setup();
    expect(platform.host()).toEqual({ hostname: "machost", bootId: "7D1F3A52-0000-4000-8000-000000000001" });
  });

  test("boot id is absent when unreadable", () => {
    const { api, platform } = setup();
    api.bootUuid = null;
    expect(platform.host().bootId).toBeUndefined();
  });
});
