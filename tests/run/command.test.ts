import { describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXIT } from "../../src/cli/exit-codes.ts";
import { resolveCommand } from "../../src/run/command.ts";

const dir = mkdtempSync(join(tmpdir(), "jerrylock-command-"));
writeFileSync(join(dir, "tool"), "#!/bin/sh\n");
chmodSync(join(dir, "tool"), 0o755);
writeFileSync(join(dir, "plain"), "exit 0\n");
chmodSync(join(dir, "plain"), 0o644);

describe("resolveCommand", () => {
  test("finds an executable in PATH", () => {
    expect(resolveCommand("tool", dir, true)).toEqual({ kind: "found", path: join(dir, "tool") });
  });

  test("missing name is not found", () => {
    expect(resolveCommand("absent", dir, true)).toMatchObject({ kind: "failed", status: EXIT.notFound });
  });

  test("plain file in PATH is not executable", () => {
    expect(resolveCommand("plain", dir, true)).toMatchObject({ kind: "failed", status: EXIT.notExecutable });
  });

  test("plain file by path is not executable", () => {
    expect(resolveCommand(join(dir, "plain"), "", true)).toMatchObject({ kind: "failed", status: EXIT.notExecutable });
  });

  test("directory by path is not executable", () => {
    expect(resolveCommand(dir, "", true)).toMatchObject({ kind: "failed", status: EXIT.notExecutable });
  });

  test("missing path is not found", () => {
    expect(resolveCommand(join(dir, "absent"), "", true)).toMatchObject({ kind: "failed", status: EXIT.notFound });
  });

  test("skips the mode check where there is no execute bit", () => {
    expect(resolveCommand(join(dir, "plain"), "", false)).toEqual({ kind: "found", path: join(dir, "plain") });
  });
});
