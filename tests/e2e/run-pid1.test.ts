// `jerrylock run` as the parent of orphans: as PID 1 of a new pid namespace
// (unshare --pid --fork --mount-proc, which needs root) and as child
// subreaper outside one. Each case runs in both modes, like dumb-init's
// test matrix.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasPyFilelock, needs } from "../helpers/require.ts";
import { FIXTURES, PYTHON, startJerrylock } from "./fixtures/run-harness.ts";

const UNSHARE = ["unshare", "--pid", "--fork", "--mount-proc"];

function canUnshare(): boolean {
  if (Bun.which("unshare") === null) return false;
  return Bun.spawnSync([...UNSHARE, "true"], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
}

/** Children of `pid`, read from every thread's children file. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const text = readFileSync(`/proc/${pid}/task/${task}/children`, "utf8");
    children.push(...text.split(" ").filter((field) => field !== "").map(Number));
  }
  return children;
}

const modes = [
  { name: "as child subreaper", prefix: [] as string[], present: true },
  {
    name: "as PID 1",
    prefix: UNSHARE,
    present: needs("unshare --pid as root", "util-linux (and root)", canUnshare()),
  },
];

describe.if(needs("python3 at /usr/bin/python3", "python3", existsSync(PYTHON)))("run reaping", () => {
  for (const mode of modes) {
    describe.if(mode.present)(mode.name, () => {
      /** Starts `jerrylock ARGS` in this mode; returns the pid that receives jerrylock's signals. */
      async function start(args: string[]) {
        const run = startJerrylock(args, { prefix: mode.prefix });
        await run.stdout.waitFor(/^ready \d+$/);
        // unshare --fork stays the parent of jerrylock and forwards nothing.
        const [jerrylockPid] = mode.prefix.length === 0 ? [run.pid] : childrenOf(run.pid);
        return { run, jerrylockPid: jerrylockPid as number };
      }

      test("reaps orphans with exact status", async () => {
        const { run } = await start(["run", "--no-gc", "--", PYTHON, join(FIXTURES, "run-orphans.py"), "7"]);
        expect(await run.finished()).toBe(7);
        const [, orphan, parent] = run.stdout.lines.map((line) => line.match(/^orphan (\d+) (\d+)$/)).find((match) => match !== null) ?? [];
        expect(orphan).toBeDefined();
        expect(run.stdout.lines).toContain(`reaped ${orphan}`);
        expect(run.stdout.lines).toContain("zombies 0");
        if (mode.prefix.length > 0) expect(parent).toBe("1");
      });

      test("forwards SIGTERM to a trapping child", async () => {
        const { run, jerrylockPid } = await start(["run", "--no-gc", "--", PYTHON, join(FIXTURES, "run-signals.py"), "--exit-on", "SIGTERM", "42"]);
        process.kill(jerrylockPid, "SIGTERM");
        expect(await run.finished()).toBe(42);
      });

      test("forwards SIGUSR1 and SIGHUP", async () => {
        const { run, jerrylockPid } = await start(["run", "--no-gc", "--", PYTHON, join(FIXTURES, "run-signals.py"), "--exit-on", "SIGUSR2", "3"]);
        process.kill(jerrylockPid, "SIGUSR1");
        await run.stdout.waitFor(/^got SIGUSR1 1$/);
        process.kill(jerrylockPid, "SIGHUP");
        await run.stdout.waitFor(/^got SIGHUP 1$/);
        process.kill(jerrylockPid, "SIGUSR2");
        expect(await run.finished()).toBe(3);
      });

      test("passes SIGKILL of the child as 137", async () => {
        const { run } = await start(["run", "--no-gc", "--", "sh", "-c", "echo ready $$; kill -KILL $$"]);
        expect(await run.finished()).toBe(137);
      });

      test.if(needs("py-filelock for /usr/bin/python3", "python3-filelock", hasPyFilelock()))("removes the lock of a SIGKILLed child", async () => {
        const dir = mkdtempSync(join(tmpdir(), "jerrylock-run-pid1-"));
        const lock = join(dir, "job.lock");
        const { run } = await start(["run", "--no-gc", "--lock-dir", dir, "--", PYTHON, join(FIXTURES, "run-lock.py"), lock, "kill"]);
        expect(await run.finished()).toBe(137);
        expect(existsSync(lock)).toBe(false);
      });

      test("stops a child ignoring SIGTERM", async () => {
        const { run, jerrylockPid } = await start(["run", "--no-gc", "--grace", "200ms", "--", PYTHON, join(FIXTURES, "run-signals.py"), "--ignore-term"]);
        process.kill(jerrylockPid, "SIGTERM");
        expect(await run.finished()).toBe(137);
      });
    });
  }
});
