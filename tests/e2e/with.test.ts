// `jerrylock with` against real lock clients: itself, the library, flock(1)
// and lockf. Holders print "ready PID" once they hold the lock; nothing here
// sleeps and hopes.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hasCommand, needs } from "../helpers/require.ts";
import { FIXTURES, JERRYLOCK, PYTHON, runToEnd, startHolder, temporaryDir, waitUntilGone, type Started } from "./fixtures/with-harness.ts";

/** A shell command that prints "ready PID" and then waits for stdin to close. */
const HOLD_UNTIL_STDIN_CLOSES = 'echo "ready $$"; read line; exit 0';

const dirs: string[] = [];
const holders: Started[] = [];

afterEach(async () => {
  for (const holder of holders.splice(0)) {
    try {
      process.kill(-holder.proc.pid, "SIGKILL");
    } catch {
      // Already gone.
    }
    await holder.proc.exited;
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function lockPath(name = "a.lock"): string {
  const dir = temporaryDir();
  dirs.push(dir);
  return join(dir, name);
}

async function hold(argv: string[]): Promise<Started> {
  const holder = await startHolder(argv);
  holders.push(holder);
  return holder;
}

function holdWithJerrylock(lockfile: string): Promise<Started> {
  return hold([JERRYLOCK, "with", lockfile, "--", "/bin/sh", "-c", HOLD_UNTIL_STDIN_CLOSES]);
}

function holdWithLibrary(lockfile: string): Promise<Started> {
  return hold([process.execPath, join(FIXTURES, "with-lib-holder.ts"), lockfile]);
}

describe("jerrylock with", () => {
  test("runs CMD under an owner record, then removes the file", async () => {
    const lockfile = lockPath();

    const result = await runToEnd([JERRYLOCK, "with", lockfile, "--", "/bin/sh", "-c", 'cat "$0"', lockfile]);

    expect(result.status).toBe(0);
    const record = JSON.parse(result.stdout);
    expect(record.pid).toBeGreaterThan(0);
    expect(typeof record.host).toBe("string");
    expect(typeof record.boot_id).toBe("string");
    expect(record.pid_ns).toMatch(/^pid:\[\d+\]$/);
    expect(record.start).toMatch(/^\d+$/);
    expect(record.tool).toMatch(/^jerrylock /);
    expect(result.stdout.endsWith("\n")).toBe(true);
    expect(existsSync(lockfile)).toBe(false);
  });

  test("CMD inherits the lock as fd 3 and nothing else", async () => {
    const lockfile = lockPath();
    const holder = await holdWithJerrylock(lockfile);

    const descriptors = readdirSync(`/proc/${holder.readyPid}/fd`).sort();
    const target = readlinkSync(`/proc/${holder.readyPid}/fd/3`);

    expect(descriptors).toEqual(["0", "1", "2", "3"]);
    expect(target).toBe(lockfile);
  });

  test("passes on CMD's exit status", async () => {
    const lockfile = lockPath();

    const exited = await runToEnd([JERRYLOCK, "with", lockfile, "--", "/bin/sh", "-c", "exit 5"]);
    const killed = await runToEnd([JERRYLOCK, "with", lockfile, "--", "/bin/sh", "-c", "kill -TERM $$"]);
    const missing = await runToEnd([JERRYLOCK, "with", lockfile, "--", "no-such-command-for-jerrylock"]);

    expect(exited.status).toBe(5);
    expect(killed.status).toBe(128 + 15);
    expect(missing.status).toBe(127);
    expect(existsSync(lockfile)).toBe(false);
  });

  test("--nonblock exits with the conflict code and names the holder", async () => {
    const lockfile = lockPath();
    const holder = await holdWithJerrylock(lockfile);

    const result = await runToEnd([JERRYLOCK, "with", "--nonblock", lockfile, "--", "true"]);
    const custom = await runToEnd([JERRYLOCK, "with", "--nonblock", "--conflict-exit-code", "42", lockfile, "--", "true"]);

    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`pid ${holder.proc.pid} (jerrylock)`);
    expect(result.stderr).toContain(lockfile);
    expect(custom.status).toBe(42);
    expect(await holder.finish()).toBe(0);
    expect(existsSync(lockfile)).toBe(false);
  });

  test("--timeout 1s gives up after about a second", async () => {
    const lockfile = lockPath();
    await holdWithJerrylock(lockfile);

    const result = await runToEnd([JERRYLOCK, "with", "--timeout", "1s", lockfile, "--", "true"]);

    expect(result.status).toBe(1);
    expect(result.stderr).toContain("timed out after 1s");
    expect(result.elapsedMs).toBeGreaterThanOrEqual(1000);
    // Generous: the bound only rules out waiting much longer than asked.
    expect(result.elapsedMs).toBeLessThan(10_000);
  });

  test("a waiter runs after the holder releases", async () => {
    const lockfile = lockPath();
    const log = join(lockfile, "..", "order");
    writeFileSync(log, "");
    const holder = await hold([JERRYLOCK, "with", lockfile, "--", "/bin/sh", "-c", 'echo "ready $$"; read line; echo holder >>"$0"', log]);

    const waiter = runToEnd([JERRYLOCK, "with", lockfile, "--", "/bin/sh", "-c", 'echo waiter >>"$0"', log]);
    expect(await holder.finish()).toBe(0);
    const result = await waiter;

    expect(result.status).toBe(0);
    expect(readFileSync(log, "utf8")).toBe("holder\nwaiter\n");
    expect(existsSync(lockfile)).toBe(false);
  });

  test("takes over at once from a SIGKILLed library holder", async () => {
    const lockfile = lockPath();
    const holder = await holdWithLibrary(lockfile);
    process.kill(holder.readyPid, "SIGKILL");
    await holder.proc.exited;

    const result = await runToEnd([JERRYLOCK, "with", "--nonblock", lockfile, "--", "/bin/sh", "-c", 'cat "$0"', lockfile]);

    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout).pid).not.toBe(holder.readyPid);
    expect(existsSync(lockfile)).toBe(false);
  });

  test("takes over at once when jerrylock and CMD were SIGKILLed", async () => {
    const lockfile = lockPath();
    const holder = await holdWithJerrylock(lockfile);
    // The holder runs in its own session; its process group is jerrylock and CMD.
    process.kill(-holder.proc.pid, "SIGKILL");
    await holder.proc.exited;
    await waitUntilGone(holder.readyPid);

    const result = await runToEnd([JERRYLOCK, "with", "--nonblock", lockfile, "--", "true"]);

    expect(result.status).toBe(0);
    expect(existsSync(lockfile)).toBe(false);
  });

  test("clean reports a crashed holder's file stale and removes it", async () => {
    const lockfile = lockPath();
    const holder = await holdWithLibrary(lockfile);
    process.kill(holder.readyPid, "SIGKILL");
    await holder.proc.exited;
    const dir = join(lockfile, "..");

    const listing = await runToEnd([JERRYLOCK, "ls", "--json", dir]);
    const cleaning = await runToEnd([JERRYLOCK, "clean", "--json", dir]);

    expect(JSON.parse(listing.stdout).locks[0].verdict).toBe("stale");
    expect(JSON.parse(cleaning.stdout).locks[0].removed).toBe(true);
    expect(existsSync(lockfile)).toBe(false);
  });

  test("CMD keeps the lock when jerrylock is killed", async () => {
    const lockfile = lockPath();
    // Bun closes the pipes of a child it has seen exit, so CMD must not wait on stdin.
    const holder = await hold([JERRYLOCK, "with", lockfile, "--", "/bin/sh", "-c", 'echo "ready $$"; exec sleep 60']);
    process.kill(holder.proc.pid, "SIGKILL");
    await holder.proc.exited;

    const whileCommandRuns = await runToEnd([JERRYLOCK, "with", "--nonblock", lockfile, "--", "true"]);
    process.kill(holder.readyPid, "SIGKILL");
    await waitUntilGone(holder.readyPid);
    const afterwards = await runToEnd([JERRYLOCK, "with", "--nonblock", lockfile, "--", "true"]);

    expect(whileCommandRuns.status).toBe(1);
    expect(whileCommandRuns.stderr).toContain(`pid ${holder.proc.pid}`);
    expect(afterwards.status).toBe(0);
    expect(existsSync(lockfile)).toBe(false);
  });

  test("keeps the file while a process CMD left holds fd 3", async () => {
    const lockfile = lockPath();
    const script = 'sleep 60 </dev/null >/dev/null 2>&1 & echo "left $!"';

    const result = await runToEnd([JERRYLOCK, "with", lockfile, "--", "/bin/sh", "-c", script]);
    const leftPid = Number(result.stdout.match(/^left (\d+)$/m)?.[1]);
    const whileLeftRuns = await runToEnd([JERRYLOCK, "with", "--nonblock", lockfile, "--", "true"]);
    process.kill(leftPid, "SIGKILL");
    await waitUntilGone(leftPid);
    const afterwards = await runToEnd([JERRYLOCK, "with", "--nonblock", lockfile, "--", "true"]);

    expect(result.status).toBe(0);
    expect(result.stderr).toContain(`kept "${lockfile}"`);
    expect(whileLeftRuns.status).toBe(1);
    expect(afterwards.status).toBe(0);
    expect(existsSync(lockfile)).toBe(false);
  });

  test("SIGTERM while waiting ends the wait", async () => {
    const lockfile = lockPath();
    await holdWithJerrylock(lockfile);
    const waiter = Bun.spawn([JERRYLOCK, "with", lockfile, "--", "true"], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });

    waiter.kill("SIGTERM");

    expect(await waiter.exited).toBe(128 + 15);
  });

  test("never follows a symlink", async () => {
    const lockfile = lockPath();
    const target = join(lockfile, "..", "target");
    writeFileSync(target, "keep me\n");
    symlinkSync(target, lockfile);

    const result = await runToEnd([JERRYLOCK, "with", lockfile, "--", "true"]);

    expect(result.status).toBe(125);
    expect(result.stderr).toContain("symlink");
    expect(readFileSync(target, "utf8")).toBe("keep me\n");
    expect(existsSync(lockfile)).toBe(true);
  });

  test("usage errors exit with 125", async () => {
    const lockfile = lockPath();
    const cases = [
      ["with", "--", "true"],
      ["with", lockfile],
      ["with", "--nonblock", "--timeout", "1s", lockfile, "--", "true"],
      ["with", "--conflict-exit-code", "256", lockfile, "--", "true"],
      ["with", "--timeout", "soon", lockfile, "--", "true"],
    ];

    for (const args of cases) {
      const result = await runToEnd([JERRYLOCK, ...args]);
      expect({ args, status: result.status }).toEqual({ args, status: 125 });
      expect(result.stderr).toContain("jerrylock with: ");
    }
  });

  if (needs("flock(1)", "util-linux", hasCommand("flock"))) {
    test("flock(1) holder excludes with", async () => {
      const lockfile = lockPath();
      const holder = await hold(["flock", lockfile, "/bin/sh", "-c", HOLD_UNTIL_STDIN_CLOSES]);

      const result = await runToEnd([JERRYLOCK, "with", "--nonblock", lockfile, "--", "true"]);

      expect(result.status).toBe(1);
      expect(result.stderr).toContain(`pid ${holder.proc.pid}`);
      expect(await holder.finish()).toBe(0);
    });

    test("with holder excludes flock(1)", async () => {
      const lockfile = lockPath();
      const holder = await holdWithJerrylock(lockfile);

      const result = await runToEnd(["flock", "--nonblock", "--conflict-exit-code", "9", lockfile, "true"]);

      expect(result.status).toBe(9);
      expect(await holder.finish()).toBe(0);
    });
  }

  if (needs("/usr/bin/python3", "python3", existsSync(PYTHON))) {
    const lockfHolder = "import fcntl, os, sys\nf = open(sys.argv[1], 'a')\nfcntl.lockf(f, fcntl.LOCK_EX)\nprint('ready', os.getpid(), flush=True)\nsys.stdin.read()";
    const lockfTry = "import fcntl, sys\nf = open(sys.argv[1], 'a')\ntry:\n    fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept OSError:\n    sys.exit(9)";

    test("lockf holder excludes with", async () => {
      const lockfile = lockPath();
      const holder = await hold([PYTHON, "-c", lockfHolder, lockfile]);

      const result = await runToEnd([JERRYLOCK, "with", "--nonblock", lockfile, "--", "true"]);

      expect(result.status).toBe(1);
      expect(result.stderr).toContain(`pid ${holder.readyPid}`);
    });

    test("with holder excludes lockf", async () => {
      const lockfile = lockPath();
      await holdWithJerrylock(lockfile);

      const result = await runToEnd([PYTHON, "-c", lockfTry, lockfile]);

      expect(result.status).toBe(9);
    });
  }
});
