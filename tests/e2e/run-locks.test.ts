// Locks and `jerrylock run`: what the run leaves is removed after it, what
// another process holds survives, and the start-up pass removes stale locks.
// The lock client is py-filelock (Debian python3-filelock), which keeps its
// file after release.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasPyFilelock, needs } from "../helpers/require.ts";
import { FIXTURES, PYTHON, processExists, runJerrylock, startJerrylock } from "./fixtures/run-harness.ts";

const LOCK_CLIENT = join(FIXTURES, "run-lock.py");
const started: Array<ReturnType<typeof Bun.spawn>> = [];

/** Returns the pid of a process that has exited and been reaped, so an owner record naming it is stale. */
function deadPid(): number {
  const child = Bun.spawnSync(["sh", "-c", "echo $$"]);
  return Number(child.stdout.toString().trim());
}

function lockDir(): string {
  return mkdtempSync(join(tmpdir(), "jerrylock-run-locks-"));
}

afterEach(() => {
  for (const proc of started.splice(0)) proc.kill("SIGKILL");
});

describe.if(needs("py-filelock for /usr/bin/python3", "python3-filelock", hasPyFilelock()))("run lock cleanup", () => {
  test("removes a lock the child released at exit", async () => {
    const dir = lockDir();
    const lock = join(dir, "job.lock");
    const result = await runJerrylock(["run", "--no-gc", "-v", "--lock-dir", dir, "--", PYTHON, LOCK_CLIENT, lock, "exit"]);
    expect(result.status).toBe(0);
    expect(result.stderr).toContain(`removed "${lock}"`);
    expect(existsSync(lock)).toBe(false);
  });

  test("removes a lock of a SIGKILLed child", async () => {
    const dir = lockDir();
    const lock = join(dir, "job.lock");
    const result = await runJerrylock(["run", "--no-gc", "--lock-dir", dir, "--", PYTHON, LOCK_CLIENT, lock, "kill"]);
    expect(result.status).toBe(137);
    expect(existsSync(lock)).toBe(false);
  });

  test("keeps a lock a setsid grandchild holds", async () => {
    const dir = lockDir();
    const lock = join(dir, "job.lock");
    const run = startJerrylock(["run", "--no-gc", "-v", "--grace", "1h", "--lock-dir", dir, "--", PYTHON, LOCK_CLIENT, lock, "setsid-holder"]);
    const [, holder] = await run.stdout.waitFor(/^holder (\d+)$/);
    const holderPid = Number(holder);

    // jerrylock has sent SIGTERM, which the holder ignores, and now waits.
    await run.stderr.waitFor(/the command left 1 process /);
    expect(existsSync(lock)).toBe(true);
    expect(processExists(holderPid)).toBe(true);

    process.kill(holderPid, "SIGKILL");
    expect(await run.finished()).toBe(0);
    expect(existsSync(lock)).toBe(false);
  });

  test("stops a setsid grandchild after grace", async () => {
    const dir = lockDir();
    const lock = join(dir, "job.lock");
    const result = await runJerrylock(["run", "--no-gc", "--grace", "200ms", "--lock-dir", dir, "--", PYTHON, LOCK_CLIENT, lock, "setsid-holder"]);
    expect(result.status).toBe(0);
    expect(result.stderr).toContain("sending SIGKILL to 1 process the command left");
    expect(existsSync(lock)).toBe(false);
  });

  test("keeps a lock an unrelated process holds", async () => {
    const dir = lockDir();
    const lock = join(dir, "shared.lock");
    const holder = Bun.spawn([PYTHON, LOCK_CLIENT, lock, "hold"], { stdin: "pipe", stdout: "pipe" });
    started.push(holder);
    const reader = (holder.stdout as ReadableStream<Uint8Array>).getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toMatch(/^ready \d+/);

    // The child touches the file, so it counts as written during the run.
    const result = await runJerrylock(["run", "--no-gc", "--lock-dir", dir, "--", "touch", lock]);
    expect(result.status).toBe(0);
    expect(existsSync(lock)).toBe(true);
  });

  test("start-up pass removes a stale lock", async () => {
    const dir = lockDir();
    const lock = join(dir, "stale.lock");
    writeFileSync(lock, `${deadPid()}\n`);
    const dayAgo = new Date(Date.now() - 86_400_000);
    utimesSync(lock, dayAgo, dayAgo);

    const result = await runJerrylock(["run", "--lock-dir", dir, "--", "sh", "-c", `test -e "${lock}" && echo present || echo absent`]);
    expect(result.stdout).toBe("absent");
  });

  test("--no-gc skips the start-up pass", async () => {
    const dir = lockDir();
    const lock = join(dir, "stale.lock");
    writeFileSync(lock, `${deadPid()}\n`);
    const dayAgo = new Date(Date.now() - 86_400_000);
    utimesSync(lock, dayAgo, dayAgo);

    const result = await runJerrylock(["run", "--no-gc", "--lock-dir", dir, "--", "sh", "-c", `test -e "${lock}" && echo present || echo absent`]);
    expect(result.stdout).toBe("present");
    expect(existsSync(lock)).toBe(false);
  });

  test("keeps a fresh file from before the run", async () => {
    // Unheld and without an owner record, but younger than the default
    // --max-age, so the normal rules keep it.
    const dir = lockDir();
    const keep = join(dir, "other.lock");
    writeFileSync(keep, "");
    const minuteAgo = new Date(Date.now() - 60_000);
    utimesSync(keep, minuteAgo, minuteAgo);
    const result = await runJerrylock(["run", "--no-gc", "--lock-dir", dir, "--", "true"]);
    expect(result.status).toBe(0);
    expect(existsSync(keep)).toBe(true);
  });
});
