// linuxLibcPath must open the C library this process already runs on, never
// a hard-coded one: glibc's libc.so.6, or musl's loader on a musl build.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { linuxLibcPath } from "../../src/platform/libc.ts";

const line = (path: string): string => `7f2a4c000000-7f2a4c028000 r--p 00000000 fe:00 2101234                    ${path}`;

describe("linuxLibcPath", () => {
  test("picks glibc's libc.so.6", () => {
    const maps = [line("/usr/bin/bun"), line("/usr/lib/x86_64-linux-gnu/libc.so.6"), line("/usr/lib/x86_64-linux-gnu/libm.so.6")].join("\n");
    expect(linuxLibcPath(maps)).toBe("/usr/lib/x86_64-linux-gnu/libc.so.6");
  });

  test("picks musl's loader on x86_64", () => {
    const maps = [line("/usr/local/bin/bun"), line("/lib/ld-musl-x86_64.so.1"), line("/usr/lib/libstdc++.so.6.0.33")].join("\n");
    expect(linuxLibcPath(maps)).toBe("/lib/ld-musl-x86_64.so.1");
  });

  test("picks musl's libc name on aarch64", () => {
    expect(linuxLibcPath(line("/usr/lib/libc.musl-aarch64.so.1"))).toBe("/usr/lib/libc.musl-aarch64.so.1");
  });

  test("prefers musl when both appear", () => {
    // A glibc compatibility shim loaded into a musl process must not win.
    const maps = [line("/usr/glibc-compat/lib/libc.so.6"), line("/lib/ld-musl-aarch64.so.1")].join("\n");
    expect(linuxLibcPath(maps)).toBe("/lib/ld-musl-aarch64.so.1");
  });

  test("falls back to the glibc soname", () => {
    expect(linuxLibcPath(line("/usr/bin/bun"))).toBe("libc.so.6");
  });

  test.skipIf(process.platform !== "linux")("names a library mapped here", () => {
    const path = linuxLibcPath();
    expect(readFileSync("/proc/self/maps", "utf8")).toContain(path);
  });
});
