// The removal protocol on real Linux files, raced at each step through the
// protocol's test hooks: whatever changes after the verdict must be kept.
import { describe, expect, test } from "bun:test";
import { dlopen } from "bun:ffi";
import { spawnSync } from "bun";
import { closeSync, existsSync, linkSync, lstatSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanDirectories, type CleanOptions, type CleanReport } from "../../src/core/clean.ts";
import type { RemovalHooks } from "../../src/core/remove.ts";
import { currentPlatform } from "../../src/platform/index.ts";
import { age, makeTempDir } from "../e2e/helpers.ts";

const onLinux = currentPlatform().os === "linux";
const LOCK_EX = 2;
const LOCK_NB = 4;

function cleanWithHooks(dir: string, hooks: RemovalHooks): CleanReport {
  const options: CleanOptions = { remove: true, dryRun: false, maxAgeMs: 0, pattern: "*.lock", recursive: false, hooks };
  return cleanDirectories(currentPlatform(), [dir], options);
}

function orphanIn(dir: string): string {
  const path = join(dir, "victim.lock");
  writeFileSync(path, "");
  age(path, 3600);
  return path;
}

describe.if(onLinux)("removal protocol races on Linux", () => {
  const libc = onLinux ? dlopen("libc.so.6", { flock: { args: ["i32", "i32"], returns: "i32" } }) : undefined;

  test("keeps a file replaced after it was opened", () => {
    const dir = makeTempDir();
    const path = orphanIn(dir);
    const report = cleanWithHooks(dir, {
      afterOpen() {
        unlinkSync(path);
        writeFileSync(path, "new");
      },
    });
    expect(report.locks[0]?.removed).toBe(false);
    expect(readFileSync(path, "utf8")).toBe("new");
  });

  test("keeps a file renamed over after it was locked", () => {
    const dir = makeTempDir();
    const path = orphanIn(dir);
    const report = cleanWithHooks(dir, {
      afterLock() {
        writeFileSync(join(dir, "incoming"), "");
        renameSync(join(dir, "incoming"), path);
      },
    });
    expect(report.locks[0]?.removed).toBe(false);
    expect(report.locks[0]?.reason).toContain("replaced");
    expect(existsSync(path)).toBe(true);
  });

  test("keeps a file rewritten after the verdict", () => {
    const dir = makeTempDir();
    const path = orphanIn(dir);
    const report = cleanWithHooks(dir, {
      afterOpen() {
        writeFileSync(path, `${process.pid}\n`);
      },
    });
    expect(report.locks[0]?.removed).toBe(false);
    expect(existsSync(path)).toBe(true);
  });

  test("keeps a file flocked after the verdict as held", () => {
    const dir = makeTempDir();
    const path = orphanIn(dir);
    let descriptor = -1;
    const report = cleanWithHooks(dir, {
      afterOpen() {
        descriptor = openSync(path, "r");
        expect(libc!.symbols.flock(descriptor, LOCK_EX | LOCK_NB)).toBe(0);
      },
    });
    closeSync(descriptor);
    expect(report.locks[0]?.verdict).toBe("held");
    expect(existsSync(path)).toBe(true);
  });

  test("keeps a file another descriptor opened after the lock as open", () => {
    const dir = makeTempDir();
    const path = orphanIn(dir);
    let descriptor = -1;
    const report = cleanWithHooks(dir, {
      afterLock() {
        descriptor = openSync(path, "r");
      },
    });
    closeSync(descriptor);
    expect(report.locks[0]?.verdict).toBe("open");
    expect(existsSync(path)).toBe(true);
  });

  test("never opens a fifo swapped in after the verdict", () => {
    const dir = makeTempDir();
    const path = orphanIn(dir);
    const report = cleanWithHooks(dir, {
      beforeOpen() {
        unlinkSync(path);
        spawnSync(["mkfifo", path]);
      },
    });
    expect(report.locks[0]?.removed).toBe(false);
    expect(report.locks[0]?.reason).toContain("never opened");
    expect(lstatSync(path).isFIFO()).toBe(true);
  });

  test("keeps a hard-linked name swapped in after the verdict", () => {
    const dir = makeTempDir();
    const path = orphanIn(dir);
    const outside = join(makeTempDir(), "outside.lock");
    writeFileSync(outside, "");
    const report = cleanWithHooks(dir, {
      beforeOpen() {
        unlinkSync(path);
        linkSync(outside, path);
      },
    });
    expect(report.locks[0]?.removed).toBe(false);
    expect(existsSync(outside)).toBe(true);
  });

  test("removes the untouched orphan", () => {
    const dir = makeTempDir();
    const path = orphanIn(dir);
    const report = cleanWithHooks(dir, {});
    expect(report.locks[0]?.removed).toBe(true);
    expect(existsSync(path)).toBe(false);
  });
});
