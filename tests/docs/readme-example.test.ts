// Runs the library example of the README, so the documented code keeps working.
import { expect, test } from "bun:test";
import { spawnSync } from "bun";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");

/** Returns the ```ts block that follows the given text in README.md. */
function exampleAfter(marker: string): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const start = readme.indexOf("```ts", readme.indexOf(marker));
  const end = readme.indexOf("```", start + 5);
  if (start < 0 || end < 0) throw new Error(`no ts example after "${marker}" in README.md`);
  return readme.slice(start + 5, end);
}

test("README library example runs", () => {
  const scratch = mkdtempSync(join(tmpdir(), "jerrylock-readme-"));
  // The example's /tmp paths move into a scratch directory, and "jerrylock" resolves to the source.
  const code = exampleAfter("The same as a library")
    .replaceAll('"/tmp/', `"${scratch}/`)
    .replace('from "jerrylock"', `from ${JSON.stringify(join(ROOT, "src/lib.ts"))}`);
  const file = join(scratch, "example.ts");
  writeFileSync(file, code);

  const result = spawnSync([process.execPath, file], { stdout: "pipe", stderr: "pipe" });

  expect(result.stderr.toString()).toBe("");
  expect(result.exitCode).toBe(0);
  expect(result.stdout.toString()).toContain("1: removed 0 stale lock files");
});
