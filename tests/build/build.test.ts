// `bun scripts/build.ts --all` must produce the seven release binaries in the
// right executable formats, with a SHA256SUMS that matches them. The check
// reads the headers itself, so it needs no file(1).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "bun";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RELEASE_TARGETS, releaseFileName } from "../../scripts/build.ts";

/** Expected format of each target, as read from its header. */
const EXPECTED: Record<string, string> = {
  "linux-x64": "ELF x86-64 glibc",
  "linux-arm64": "ELF aarch64 glibc",
  "linux-x64-musl": "ELF x86-64 musl",
  "linux-arm64-musl": "ELF aarch64 musl",
  "darwin-x64": "Mach-O x86-64",
  "darwin-arm64": "Mach-O arm64",
  "windows-x64": "PE32+ x86-64",
};

/** Names the executable format of `bytes` from its header. */
function describeExecutable(bytes: Buffer): string {
  if (bytes.readUInt32BE(0) === 0x7f454c46) {
    const machines: Record<number, string> = { 0x3e: "x86-64", 0xb7: "aarch64" };
    const machine = machines[bytes.readUInt16LE(18)] ?? `machine 0x${bytes.readUInt16LE(18).toString(16)}`;
    // The program interpreter path names the C library the binary needs.
    const head = bytes.subarray(0, 4096).toString("latin1");
    const libc = head.includes("ld-musl-") ? "musl" : head.includes("ld-linux") ? "glibc" : "no interpreter";
    return `ELF ${machine} ${libc}`;
  }
  if (bytes.readUInt32LE(0) === 0xfeedfacf) {
    const cpus: Record<number, string> = { 0x0100_0007: "x86-64", 0x0100_000c: "arm64" };
    return `Mach-O ${cpus[bytes.readUInt32LE(4)] ?? `cputype 0x${bytes.readUInt32LE(4).toString(16)}`}`;
  }
  if (bytes.toString("latin1", 0, 2) === "MZ") {
    const pe = bytes.readUInt32LE(0x3c);
    if (bytes.toString("latin1", pe, pe + 4) !== "PE\0\0") return "MZ without PE header";
    const machine = bytes.readUInt16LE(pe + 4) === 0x8664 ? "x86-64" : "other machine";
    const kind = bytes.readUInt16LE(pe + 24) === 0x20b ? "PE32+" : "PE32";
    return `${kind} ${machine}`;
  }
  return "unknown format";
}

describe("build --all", () => {
  let outdir = "";
  let buildOutput = "";
  let buildStatus = -1;

  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), "jerrylock-build-"));
    const result = spawnSync([process.execPath, "scripts/build.ts", "--all", "--outdir", outdir], {
      cwd: join(import.meta.dir, "..", ".."),
      stdout: "pipe",
      stderr: "pipe",
    });
    buildStatus = result.exitCode;
    buildOutput = `${result.stdout.toString()}${result.stderr.toString()}`;
  }, 600_000);

  afterAll(() => {
    if (outdir !== "") rmSync(outdir, { recursive: true, force: true });
  });

  test("build exits 0", () => {
    expect({ status: buildStatus, output: buildOutput }).toMatchObject({ status: 0 });
  });

  test("covers seven targets", () => {
    const names: string[] = RELEASE_TARGETS.map((target) => target.name);
    expect(names.sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const target of RELEASE_TARGETS) {
    test(`${target.name} has the expected format`, () => {
      const bytes = readFileSync(join(outdir, releaseFileName(target)));
      expect(describeExecutable(bytes)).toBe(EXPECTED[target.name]!);
    });
  }

  test("SHA256SUMS lists every binary", () => {
    const lines = readFileSync(join(outdir, "SHA256SUMS"), "utf8").trimEnd().split("\n");
    expect(lines).toHaveLength(RELEASE_TARGETS.length);
    for (const line of lines) {
      const [hash, name] = line.split("  ");
      const actual = createHash("sha256").update(readFileSync(join(outdir, name!))).digest("hex");
      expect(`${name} ${actual}`).toBe(`${name} ${hash}`);
    }
  });

  test.skipIf(process.platform !== "linux" || process.arch !== "x64")("linux-x64 names its target", () => {
    const result = spawnSync([join(outdir, "jerrylock-linux-x64"), "--version"], { stdout: "pipe" });
    expect(result.stdout.toString()).toMatch(/^jerrylock \d+\.\d+\.\d+ \(linux-x64\)\n$/);
  });
});
