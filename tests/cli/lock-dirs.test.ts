import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkExplicitDir, resolveLockDirs } from "../../src/cli/lock-dirs.ts";

const root = realpathSync(mkdtempSync(join(tmpdir(), "jerrylock-lock-dirs-")));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Creates `path` below the temporary root and returns its absolute path. */
function mkdir(...parts: string[]): string {
  const path = join(root, ...parts);
  mkdirSync(path, { recursive: true });
  return path;
}

describe("resolveLockDirs", () => {
  test("uses explicit directories as given", () => {
    expect(resolveLockDirs(["a", "b"], root, { JERRYLOCK_DIR: "/elsewhere" })).toEqual({ dirs: ["a", "b"], source: "explicit" });
  });

  test("uses JERRYLOCK_DIR without explicit directories", () => {
    expect(resolveLockDirs([], root, { JERRYLOCK_DIR: "/elsewhere" })).toEqual({ dirs: ["/elsewhere"], source: "environment" });
  });

  test("ignores an empty JERRYLOCK_DIR", () => {
    const project = mkdir("empty-env");
    expect(resolveLockDirs([], project, { JERRYLOCK_DIR: "" }).source).toBe("none");
  });

  test("finds the locks of the working directory's project", () => {
    const locks = mkdir("project", ".jerry", "local", "locks");
    expect(resolveLockDirs([], join(root, "project"), {})).toEqual({ dirs: [locks], source: "discovered", projectRoot: join(root, "project") });
  });

  test("walks up to the nearest .jerry", () => {
    const locks = mkdir("walk", ".jerry", "local", "locks");
    const deep = mkdir("walk", "src", "deep", "er");
    expect(resolveLockDirs([], deep, {}).dirs).toEqual([locks]);
  });

  test("stops at the nearest .jerry even without locks", () => {
    mkdir("nested", ".jerry", "local", "locks");
    mkdir("nested", "inner", ".jerry");
    const found = resolveLockDirs([], mkdir("nested", "inner", "src"), {});

    expect(found.dirs).toEqual([]);
    expect(found.message).toBe(`no lock directory: "${join(root, "nested", "inner", ".jerry", "local", "locks")}" does not exist, so there are no lock files`);
  });

  test("skips a .jerry that is a file", () => {
    const locks = mkdir("marker-file", ".jerry", "local", "locks");
    const inner = mkdir("marker-file", "inner");
    writeFileSync(join(inner, ".jerry"), "");
    expect(resolveLockDirs([], inner, {}).dirs).toEqual([locks]);
  });

  test("explains a missing .jerry", () => {
    const lonely = mkdir("lonely");
    const found = resolveLockDirs([], lonely, {});

    expect(found.source).toBe("none");
    expect(found.message).toBe(`no .jerry folder in "${lonely}" or any parent; pass a DIR or set JERRYLOCK_DIR`);
  });
});

describe("checkExplicitDir", () => {
  test("accepts a directory", () => {
    expect(checkExplicitDir(mkdir("explicit"))).toBeNull();
  });

  test("explains a missing directory", () => {
    const missing = join(root, "missing");
    expect(checkExplicitDir(missing)).toBe(`lock directory "${missing}" does not exist; check the path or create it`);
  });

  test("explains a file given as directory", () => {
    const file = join(mkdir("file-parent"), "a.lock");
    writeFileSync(file, "");
    expect(checkExplicitDir(file)).toBe(`lock directory "${file}" is not a directory; pass the folder that contains the lock files`);
  });

  test("names the error code of a path below a file", () => {
    const file = join(mkdir("below-file"), "plain");
    writeFileSync(file, "");
    expect(checkExplicitDir(join(file, "locks"))).toBe(`cannot read lock directory "${join(file, "locks")}": ENOTDIR; check the path and its permissions`);
  });
});
