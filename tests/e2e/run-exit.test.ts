// Exit statuses of `jerrylock run`, against the compiled binary.
import { describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXIT } from "../../src/cli/exit-codes.ts";
import { runJerrylock } from "./fixtures/run-harness.ts";

const scratch = mkdtempSync(join(tmpdir(), "jerrylock-run-exit-"));

describe("run exit status", () => {
  const table: Array<[string, string, number]> = [
    ["exit 0", "exit 0", 0],
    ["exit 1", "exit 1", 1],
    ["exit 3", "exit 3", 3],
    ["exit 255", "exit 255", 255],
    ["SIGKILL", "kill -KILL $$", 137],
    ["SIGSEGV", "kill -SEGV $$", 139],
    ["SIGTERM", "kill -TERM $$", 143],
  ];
  for (const [name, script, expected] of table) {
    test(`passes on ${name} as ${expected}`, async () => {
      const result = await runJerrylock(["run", "--no-gc", "--", "sh", "-c", script]);
      expect(result.status).toBe(expected);
    });
  }

  test("missing command gives 127", async () => {
    const result = await runJerrylock(["run", "--no-gc", "--", "jerrylock-no-such-command"]);
    expect(result.status).toBe(EXIT.notFound);
    expect(result.stderr).toContain('jerrylock run: cannot run "jerrylock-no-such-command": command not found');
  });

  test("missing path gives 127", async () => {
    const result = await runJerrylock(["run", "--no-gc", "--", join(scratch, "absent")]);
    expect(result.status).toBe(EXIT.notFound);
  });

  test("non-executable file gives 126", async () => {
    const script = join(scratch, "not-executable.sh");
    writeFileSync(script, "#!/bin/sh\nexit 0\n");
    chmodSync(script, 0o644);
    const result = await runJerrylock(["run", "--no-gc", "--", script]);
    expect(result.status).toBe(EXIT.notExecutable);
    expect(result.stderr).toContain("is not executable");
  });

  test("non-executable file in PATH gives 126", async () => {
    const bin = mkdtempSync(join(scratch, "bin-"));
    writeFileSync(join(bin, "jerrylock-plain-file"), "exit 0\n");
    const result = await runJerrylock(["run", "--no-gc", "--", "jerrylock-plain-file"], { env: { PATH: `${bin}:/usr/bin:/bin` } });
    expect(result.status).toBe(EXIT.notExecutable);
  });

  test("directory gives 126", async () => {
    const result = await runJerrylock(["run", "--no-gc", "--", scratch]);
    expect(result.status).toBe(EXIT.notExecutable);
  });

  test("bad usage gives 125", async () => {
    const result = await runJerrylock(["run", "--grace", "soon", "--", "true"]);
    expect(result.status).toBe(EXIT.runUsage);
    expect(result.stderr).toContain('invalid --grace "soon"');
  });

  test("missing command after -- gives 125", async () => {
    const result = await runJerrylock(["run", "--"]);
    expect(result.status).toBe(EXIT.runUsage);
  });

  test("missing --lock-dir gives 125", async () => {
    const result = await runJerrylock(["run", "--lock-dir", join(scratch, "absent"), "--", "true"]);
    expect(result.status).toBe(EXIT.runUsage);
    expect(result.stderr).toContain("does not exist");
  });

  test("command output passes through", async () => {
    const result = await runJerrylock(["run", "--no-gc", "--", "sh", "-c", "echo out; echo err >&2"]);
    expect(result.stdout).toBe("out");
    expect(result.stderr).toBe("err");
  });

  test("command without -- runs with its own options", async () => {
    const result = await runJerrylock(["run", "--no-gc", "sh", "-c", "echo $0", "-v"]);
    expect(result.stdout).toBe("-v");
  });
});
