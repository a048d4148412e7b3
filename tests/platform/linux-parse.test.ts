import { describe, expect, test } from "bun:test";
import { devMajorMinor, parseProcLocks } from "../../src/platform/linux.ts";

// Lines in the format of /proc/locks on Linux 6.x; device numbers are hex.
const SAMPLE = [
  "1: FLOCK  ADVISORY  WRITE 4321 fe:00:2146482 0 EOF",
  "1: -> FLOCK  ADVISORY  WRITE 4400 fe:00:2146482 0 EOF",
  "2: POSIX  ADVISORY  READ 5555 08:01:77 0 99",
  "3: OFDLCK ADVISORY  WRITE -1 00:2d:1234 0 EOF",
  "4: LEASE  ACTIVE    WRITE 6000 103:02:42 0 EOF",
  "5: POSIX  ADVISORY  WRITE 5556 08:01:77 100 EOF",
  "",
].join("\n");

describe("parseProcLocks", () => {
  const table = parseProcLocks(SAMPLE);

  test("reads a flock holder with a hex device", () => {
    expect(table.byDevIno.get("254:0:2146482")).toEqual([{ kind: "flock", mode: "write", pid: 4321 }]);
  });

  test("skips blocked waiters", () => {
    const pids = (table.byDevIno.get("254:0:2146482") ?? []).map((holder) => holder.pid);
    expect(pids).not.toContain(4400);
  });

  test("collects every POSIX holder of one inode", () => {
    expect(table.byDevIno.get("8:1:77")).toEqual([
      { kind: "posix", mode: "read", pid: 5555 },
      { kind: "posix", mode: "write", pid: 5556 },
    ]);
  });

  test("reads an OFD lock with pid -1 as no pid", () => {
    expect(table.byDevIno.get("0:45:1234")).toEqual([{ kind: "ofd", mode: "write", pid: null }]);
  });

  test("reads a lease with a three-digit major", () => {
    expect(table.byDevIno.get("259:2:42")).toEqual([{ kind: "lease", mode: "write", pid: 6000 }]);
  });

  test("indexes devices by inode", () => {
    expect(table.byIno.get(2146482n)).toEqual(["254:0"]);
  });

  test("skips a line without a device and inode", () => {
    expect(parseProcLocks("1: POSIX  ADVISORY  WRITE 77 <none> 0 EOF\n").byDevIno.size).toBe(0);
  });

  test("returns empty maps for empty text", () => {
    expect(parseProcLocks("").byDevIno.size).toBe(0);
  });

  test("reads an inode beyond 2^53 exactly", () => {
    const table = parseProcLocks("1: FLOCK  ADVISORY  WRITE 9 fe:00:18446744073709551615 0 EOF\n");
    expect(table.byIno.has(18446744073709551615n)).toBe(true);
  });
});

describe("devMajorMinor", () => {
  // The encoding of glibc's makedev(): minor bits 0-7 and 20-31, major bits 8-19 and 32-43.
  const makedev = (major: bigint, minor: bigint): bigint =>
    ((major & 0xfffn) << 8n) | ((major & ~0xfffn) << 32n) | (minor & 0xffn) | ((minor & ~0xffn) << 12n);

  test("decodes a small device", () => {
    expect(devMajorMinor(0xfe00n)).toBe("254:0");
  });

  test("decodes device 0:45", () => {
    expect(devMajorMinor(45n)).toBe("0:45");
  });

  test("decodes an NVMe partition", () => {
    expect(devMajorMinor(makedev(259n, 3n))).toBe("259:3");
  });

  test("decodes a minor above 255", () => {
    expect(devMajorMinor(makedev(8n, 0x12345n))).toBe("8:74565");
  });

  // glibc masks the minor to bits 20-43 of dev_t; the kernel keeps majors below 4096, so this is theoretical.
  test("decodes a major above 4095", () => {
    expect(devMajorMinor(makedev(0x12345n, 7n))).toBe("74565:7");
  });
});
