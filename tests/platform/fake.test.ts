import { describe, expect, test } from "bun:test";
import { FakePlatform } from "../../src/platform/fake.ts";
import { PlatformError } from "../../src/platform/types.ts";

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

describe("FakePlatform", () => {
  test("lists and stats entries of a directory", () => {
    const fake = new FakePlatform();
    fake.addFile("/locks", "a.lock", { content: "123\n" });
    fake.addFile("/locks", "link", { kind: "symlink" });
    const dir = fake.openDir("/locks");

    const names = fake.listDir(dir).map((name) => new TextDecoder().decode(name)).sort();
    expect(names).toEqual(["a.lock", "link"]);
    expect(fake.statAt(dir, encode("a.lock"))?.size).toBe(4);
    expect(fake.statAt(dir, encode("link"))?.kind).toBe("symlink");
    expect(fake.statAt(dir, encode("missing"))).toBeNull();
  });

  test("readAt returns null once the inode changed", () => {
    const fake = new FakePlatform();
    fake.addFile("/locks", "a.lock", { content: "1" });
    const dir = fake.openDir("/locks");
    const before = fake.statAt(dir, encode("a.lock"))!;
    fake.addFile("/locks", "a.lock", { content: "2" });

    expect(fake.readAt(dir, encode("a.lock"), before, 10)).toBeNull();
  });

  test("scan reports holders, openers and overrides", () => {
    const fake = new FakePlatform();
    const held = fake.addFile("/d", "held", { holders: [{ kind: "flock", mode: "write", pid: 77 }] });
    const open = fake.addFile("/d", "open", { openers: [88] });
    const odd = fake.addFile("/d", "odd", { heldCheck: { state: "unknown", method: "fake", reason: "EACCES" } });
    const scan = fake.beginScan(fake.openDir("/d"));

    expect(scan.held({ ...held, size: 0 }).state).toBe("held");
    expect(scan.open({ ...open, size: 0 }).state).toBe("open");
    expect(scan.held({ ...open, size: 0 }).state).toBe("free");
    expect(scan.held({ ...odd, size: 0 }).state).toBe("unknown");
  });

  test("inspectProcess reports unknown pids as dead", () => {
    const fake = new FakePlatform().setProcess(100, { liveness: "alive", startTimeMs: 5 });

    expect(fake.inspectProcess(100).liveness).toBe("alive");
    expect(fake.inspectProcess(101).liveness).toBe("dead");
    expect(fake.inspectProcess(fake.selfPid()).liveness).toBe("alive");
  });

  test("removal primitives record their order", () => {
    const fake = new FakePlatform();
    fake.addFile("/d", "x.lock");
    const dir = fake.openDir("/d");
    const file = fake.openCandidate(dir, encode("x.lock"))!;

    expect(fake.tryLock(file).state).toBe("locked");
    expect(fake.beginSoleOpener(file).state).toBe("closed");
    fake.unlinkHeld(file);
    expect(fake.endSoleOpener(file)).toBe(false);
    fake.closeCandidate(file);

    expect(fake.exists("/d", "x.lock")).toBe(false);
    expect(fake.methods()).toEqual([
      "openDir",
      "openCandidate",
      "tryLock",
      "beginSoleOpener",
      "unlinkHeld",
      "endSoleOpener",
      "closeCandidate",
    ]);
    expect(fake.openHandleCount()).toBe(0);
  });

  test("tryLock conflicts with another holder", () => {
    const fake = new FakePlatform();
    fake.addFile("/d", "x.lock", { holders: [{ kind: "posix", mode: "write", pid: 9 }] });
    const file = fake.openCandidate(fake.openDir("/d"), encode("x.lock"))!;

    expect(fake.tryLock(file)).toMatchObject({ state: "conflict", holders: [{ pid: 9 }] });
  });

  test("endSoleOpener notices an open during the window", () => {
    const fake = new FakePlatform();
    const inode = fake.addFile("/d", "x.lock");
    const file = fake.openCandidate(fake.openDir("/d"), encode("x.lock"))!;
    fake.on("unlinkHeld", () => inode.openers.push(555));

    fake.tryLock(file);
    fake.beginSoleOpener(file);
    fake.unlinkHeld(file);
    expect(fake.endSoleOpener(file)).toBe(true);
  });

  test("fail injects an error once for one path", () => {
    const fake = new FakePlatform();
    fake.addFile("/d", "a");
    fake.addFile("/d", "b");
    const dir = fake.openDir("/d");
    fake.fail("statAt", new PlatformError("EIO", "fstatat", "b"), { path: "b" });

    expect(fake.statAt(dir, encode("a"))).not.toBeNull();
    expect(() => fake.statAt(dir, encode("b"))).toThrow(PlatformError);
    expect(fake.statAt(dir, encode("b"))).not.toBeNull();
  });

  test("createCandidate rejects a symlink with ELOOP", () => {
    const fake = new FakePlatform();
    fake.addFile("/d", "x.lock", { kind: "symlink" });
    const dir = fake.openDir("/d");

    expect(() => fake.createCandidate(dir, encode("x.lock"))).toThrow(expect.objectContaining({ code: "ELOOP" }));
  });

  test("writeRecord replaces the content", () => {
    const fake = new FakePlatform();
    const dir = fake.addDir("/d").openDir("/d");
    const file = fake.createCandidate(dir, encode("new.lock"));
    fake.writeRecord(file, encode("pid 1\n"));

    expect(new TextDecoder().decode(fake.file("/d", "new.lock")!.content)).toBe("pid 1\n");
  });
});

describe("FakePlatform subdirectories", () => {
  test("openSubdir opens a directory entry", () => {
    const fake = new FakePlatform();
    fake.addFile("/d", "sub", { kind: "directory" });
    fake.addFile("/d/sub", "x.lock");
    const sub = fake.openSubdir(fake.openDir("/d"), encode("sub"), "/d/sub");

    expect(fake.listDir(sub).map((name) => new TextDecoder().decode(name))).toEqual(["x.lock"]);
  });

  test("openSubdir rejects a symlink with ELOOP", () => {
    const fake = new FakePlatform();
    fake.addFile("/d", "sub", { kind: "symlink" });

    expect(() => fake.openSubdir(fake.openDir("/d"), encode("sub"), "/d/sub")).toThrow(expect.objectContaining({ code: "ELOOP" }));
  });
});
