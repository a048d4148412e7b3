// The Windows rules, run on any OS against a fake of the Win32 layer: process
// liveness from OpenProcess, verdicts through the core's classify, and the
// removal protocol with share modes, byte-range locks and delete-pending files.
import { describe, expect, test } from "bun:test";
import { classify, type LockEntry } from "../../src/core/classify.ts";
import { removeThroughProtocol } from "../../src/core/remove.ts";
import { ACCESS, SHARE } from "../../src/platform/windows-api.ts";
import { createWindowsPlatform, inspectWindowsProcess, WINDOWS_MAX_PID } from "../../src/platform/windows.ts";
import type { Platform } from "../../src/platform/types.ts";
import { FakeWin32, type FakeWinFile } from "./fake-win32.ts";

const DIR = "C:\\locks";
const OWNER_PID = 4812;
const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

function setup(): { api: FakeWin32; platform: Platform } {
  const api = new FakeWin32();
  api.entries(DIR);
  return { api, platform: createWindowsPlatform(api, "windows-x64") };
}

function entryOf(platform: Platform, name: string): LockEntry | null {
  const dir = platform.openDir(DIR);
  const stat = platform.statAt(dir, encode(name));
  return stat === null ? null : { dir, name: encode(name), displayPath: `${DIR}\\${name}`, stat };
}

function verdictOf(api: FakeWin32, platform: Platform, name: string): string {
  const entry = entryOf(platform, name);
  if (entry === null) return "gone";
  const decision = classify(entry, {
    platform,
    scan: platform.beginScan(entry.dir),
    host: platform.host(),
    now: api.clockMs,
    maxAgeMs: 5 * 60_000,
    checkOpen: true,
  });
  return decision?.verdict ?? "gone";
}

/** An owner record as `with` writes it on Windows, ten minutes old. */
function addRecord(api: FakeWin32, name: string, pid: number): FakeWinFile {
  return api.addFile(DIR, name, `{"pid":${pid},"host":"winhost"}\n`, api.clockMs - 600_000);
}

describe("inspectWindowsProcess", () => {
  test("running process is alive", () => {
    const api = new FakeWin32();
    api.processes.set(OWNER_PID, { state: "running", startMs: 1_700_000_000_000, image: "C:\\bin\\make.exe" });

    const info = inspectWindowsProcess(api, OWNER_PID);
    expect(info.liveness).toBe("alive");
    expect(info.startTimeMs).toBe(1_700_000_000_000);
    expect(info.command).toBe("make.exe");
    expect(api.openHandleCount()).toBe(0);
  });

  test("missing pid is dead", () => {
    expect(inspectWindowsProcess(new FakeWin32(), OWNER_PID).liveness).toBe("dead");
  });

  test("exited process with open handle is dead", () => {
    const api = new FakeWin32();
    api.processes.set(OWNER_PID, { state: "exited", exitCode: 0, startMs: 1 });

    expect(inspectWindowsProcess(api, OWNER_PID).liveness).toBe("dead");
  });

  test("access denied means alive", () => {
    const api = new FakeWin32();
    api.processes.set(OWNER_PID, { state: "denied", startMs: 1 });

    const info = inspectWindowsProcess(api, OWNER_PID);
    expect(info.liveness).toBe("alive");
    expect(info.startTimeMs).toBeUndefined();
    expect(info.detail).toContain("access denied");
  });

  test("falls back to GetExitCodeProcess", () => {
    const api = new FakeWin32();
    api.processes.set(OWNER_PID, { state: "no-synchronize", startMs: 1 });
    api.processes.set(OWNER_PID + 4, { state: "exited", exitCode: 3, startMs: 1 });

    expect(inspectWindowsProcess(api, OWNER_PID).liveness).toBe("alive");
    expect(inspectWindowsProcess(api, OWNER_PID + 4).liveness).toBe("dead");
  });

  test("start id differs for a reused pid", () => {
    const api = new FakeWin32();
    api.processes.set(OWNER_PID, { state: "running", startMs: 1_000 });
    const first = inspectWindowsProcess(api, OWNER_PID).startId;
    api.processes.set(OWNER_PID, { state: "running", startMs: 2_000 });

    expect(inspectWindowsProcess(api, OWNER_PID).startId).not.toBe(first);
  });
});

describe("Windows verdicts", () => {
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

  test("record of an access-denied owner is live-owner", () => {
    const { api, platform } = setup();
    api.processes.set(OWNER_PID, { state: "denied", startMs: 0 });
    addRecord(api, "a.lock", OWNER_PID);

    expect(verdictOf(api, platform, "a.lock")).toBe("live-owner");
  });

  test("reused pid is stale", () => {
    const { api, platform } = setup();
    // Started a minute ago, long after the record was written ten minutes ago.
    api.processes.set(OWNER_PID, { state: "running", startMs: api.clockMs - 60_000 });
    addRecord(api, "a.lock", OWNER_PID);

    expect(verdictOf(api, platform, "a.lock")).toBe("stale");
  });

  test("sharing violation on delete is open", () => {
    const { api, platform } = setup();
    const file = addRecord(api, "a.lock", OWNER_PID);
    // The C runtime's open() shares read and write, never delete.
    api.openForeign(file, ACCESS.readData | ACCESS.writeData, SHARE.read | SHARE.write);

    expect(verdictOf(api, platform, "a.lock")).toBe("open");
  });

  test("byte-range lock is held", () => {
    const { api, platform } = setup();
    const file = api.addFile(DIR, "a.lock", "", api.clockMs - 600_000);
    api.openForeign(file, ACCESS.readData | ACCESS.writeData, SHARE.all, "exclusive");

    expect(verdictOf(api, platform, "a.lock")).toBe("held");
  });

  test("held probe names the lock mode", () => {
    const { api, platform } = setup();
    const file = api.addFile(DIR, "a.lock");
    api.openForeign(file, ACCESS.readData, SHARE.all, "shared");
    const entry = entryOf(platform, "a.lock")!;
    const held = platform.beginScan(entry.dir).held(entry.stat, entry.name, entry.dir);

    expect(held).toMatchObject({ state: "held", holders: [{ kind: "windows", mode: "read", pid: null }] });
    expect(api.openHandleCount()).toBe(1);
  });

  test("delete-pending file counts as gone", () => {
    const { api, platform } = setup();
    const file = addRecord(api, "a.lock", OWNER_PID);
    file.deletePending = true;

    expect(entryOf(platform, "a.lock")).toBeNull();
  });

  test("probes without an entry name are unknown", () => {
    const { api, platform } = setup();
    api.addFile(DIR, "a.lock");
    const entry = entryOf(platform, "a.lock")!;
    const scan = platform.beginScan(entry.dir);

    expect(scan.held(entry.stat).state).toBe("unknown");
    expect(scan.open(entry.stat).state).toBe("unknown");
  });

  test("entry names with a separator are rejected", () => {
    const { platform } = setup();
    const dir = platform.openDir(DIR);

    expect(() => platform.statAt(dir, encode("..\\x.lock"))).toThrow(expect.objectContaining({ code: "ERROR_INVALID_NAME" }));
  });

  test("maxPid allows every 32-bit pid", () => {
    expect(WINDOWS_MAX_PID).toBe(4_294_967_292);
  });
});

describe("Windows removal protocol", () => {
  test("removes a free file through its handle", () => {
    const { api, platform } = setup();
    addRecord(api, "a.lock", OWNER_PID);
    const entry = entryOf(platform, "a.lock")!;

    expect(removeThroughProtocol(platform, entry)).toEqual({ removed: true });
    expect(api.exists(DIR, "a.lock")).toBe(false);
    platform.closeDir(entry.dir);
    expect(api.openHandleCount()).toBe(0);
  });

  test("keeps a file open without delete sharing", () => {
    const { api, platform } = setup();
    const file = addRecord(api, "a.lock", OWNER_PID);
    api.openForeign(file, ACCESS.readData | ACCESS.writeData, SHARE.read | SHARE.write);

    const outcome = removeThroughProtocol(platform, entryOf(platform, "a.lock")!);
    expect(outcome).toMatchObject({ removed: false, verdict: "open" });
    expect(api.exists(DIR, "a.lock")).toBe(true);
  });

  test("keeps a file with a byte-range lock", () => {
    const { api, platform } = setup();
    const file = addRecord(api, "a.lock", OWNER_PID);
    api.openForeign(file, ACCESS.readData, SHARE.all, "exclusive");

    const outcome = removeThroughProtocol(platform, entryOf(platform, "a.lock")!);
    expect(outcome).toMatchObject({ removed: false, verdict: "held" });
    expect(api.exists(DIR, "a.lock")).toBe(true);
  });

  test("keeps a file whose owner denies read sharing", () => {
    const { api, platform } = setup();
    const file = addRecord(api, "a.lock", OWNER_PID);
    api.openForeign(file, ACCESS.writeData, SHARE.none);

    const outcome = removeThroughProtocol(platform, entryOf(platform, "a.lock")!);
    expect(outcome).toMatchObject({ removed: false, verdict: "held" });
    expect(api.exists(DIR, "a.lock")).toBe(true);
  });

  test("delete-sharing reader leaves it delete pending", () => {
    const { api, platform } = setup();
    const file = addRecord(api, "a.lock", OWNER_PID);
    // libuv (Node, Bun) opens with every share flag; such a reader is not seen.
    const reader = api.openForeign(file, ACCESS.readData, SHARE.all);

    expect(removeThroughProtocol(platform, entryOf(platform, "a.lock")!)).toEqual({ removed: true });
    expect(file.deletePending).toBe(true);
    expect(entryOf(platform, "a.lock")).toBeNull();
    api.closeForeign(file, reader);
  });

  test("failed deletion is reported as a failure", () => {
    const { api, platform } = setup();
    addRecord(api, "a.lock", OWNER_PID);
    api.failNext.markForDeletion = "ERROR_ACCESS_DENIED";

    const outcome = removeThroughProtocol(platform, entryOf(platform, "a.lock")!);
    expect(outcome).toMatchObject({ removed: false, failed: true });
    expect(api.exists(DIR, "a.lock")).toBe(true);
  });
});

describe("Windows lock acquisition", () => {
  test("created lock blocks another tryLock", () => {
    const { api, platform } = setup();
    const dir = platform.openDir(DIR);
    const mine = platform.createCandidate(dir, encode("w.lock"));
    expect(platform.tryLock(mine).state).toBe("locked");
    platform.writeRecord(mine, encode(`{"pid":${api.pid}}\n`));

    const other = platform.openCandidate(dir, encode("w.lock"))!;
    expect(platform.tryLock(other)).toMatchObject({ state: "conflict", method: "LockFileEx" });
    platform.closeCandidate(other);
    platform.closeCandidate(mine);

    const again = platform.openCandidate(dir, encode("w.lock"))!;
    expect(platform.tryLock(again).state).toBe("locked");
    platform.closeCandidate(again);
  });

  test("reading a locked record fails with ERROR_LOCK_VIOLATION", () => {
    const { api, platform } = setup();
    const file = addRecord(api, "a.lock", OWNER_PID);
    api.openForeign(file, ACCESS.readData, SHARE.all, "exclusive");
    const entry = entryOf(platform, "a.lock")!;

    expect(() => platform.readAt(entry.dir, entry.name, entry.stat, 4096)).toThrow(expect.objectContaining({ code: "ERROR_LOCK_VIOLATION" }));
  });
});
