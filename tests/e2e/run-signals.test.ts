// Signal forwarding of `jerrylock run` outside a terminal, against the
// compiled binary. Each test waits for the child's `ready PID` line before
// it signals, and for the child's `got SIGNAL` line before it goes on.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { needs } from "../helpers/require.ts";
import { FIXTURES, PYTHON, startJerrylock } from "./fixtures/run-harness.ts";

const SIGNALS_CHILD = join(FIXTURES, "run-signals.py");

describe.if(needs("python3 at /usr/bin/python3", "python3", existsSync(PYTHON)))("run signal forwarding", () => {
  test("forwards each signal once", async () => {
    // SIGINT comes last: forwarded outside a terminal, it starts a stop, and
    // the child exits on it.
    const run = startJerrylock(["run", "--no-gc", "--", PYTHON, SIGNALS_CHILD, "--exit-on", "SIGINT", "0"]);
    await run.stdout.waitFor(/^ready \d+$/);

    for (const signal of ["SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH"] as const) {
      process.kill(run.pid, signal);
      await run.stdout.waitFor(new RegExp(`^got ${signal} 1$`));
    }
    process.kill(run.pid, "SIGINT");
    expect(await run.finished()).toBe(0);

    for (const signal of ["SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH", "SIGINT"]) {
      expect(run.stdout.lines.filter((line) => line.startsWith(`got ${signal} `))).toEqual([`got ${signal} 1`]);
    }
  });

  test("SIGTERM lets a trapping child exit", async () => {
    const run = startJerrylock(["run", "--no-gc", "--grace", "1h", "--", PYTHON, SIGNALS_CHILD, "--exit-on", "SIGTERM", "42"]);
    await run.stdout.waitFor(/^ready \d+$/);
    process.kill(run.pid, "SIGTERM");
    expect(await run.finished()).toBe(42);
    expect(run.stdout.lines).toContain("got SIGTERM 1");
  });

  test("child ignoring SIGTERM gets SIGKILL after grace", async () => {
    const run = startJerrylock(["run", "--no-gc", "--grace", "200ms", "--", PYTHON, SIGNALS_CHILD, "--ignore-term"]);
    await run.stdout.waitFor(/^ready \d+$/);
    process.kill(run.pid, "SIGTERM");
    expect(await run.finished()).toBe(137);
    expect(run.stderr.text).toContain("sending SIGKILL to the command");
  });

  test("second SIGTERM sends SIGKILL at once", async () => {
    const run = startJerrylock(["run", "--no-gc", "-v", "--grace", "1h", "--", PYTHON, SIGNALS_CHILD, "--ignore-term"]);
    await run.stdout.waitFor(/^ready \d+$/);
    process.kill(run.pid, "SIGTERM");
    await run.stderr.waitFor(/SIGTERM: forwarding/);
    process.kill(run.pid, "SIGTERM");
    expect(await run.finished()).toBe(137);
    expect(run.stderr.text).toContain("second stop request");
  });

  test("SIGHUP does not start a stop", async () => {
    // With --grace 0, a stop would kill the child before the SIGUSR1 that follows.
    const run = startJerrylock(["run", "--no-gc", "--grace", "0", "--", PYTHON, SIGNALS_CHILD]);
    const [, child] = await run.stdout.waitFor(/^ready (\d+)$/);
    process.kill(run.pid, "SIGHUP");
    await run.stdout.waitFor(/^got SIGHUP 1$/);
    process.kill(run.pid, "SIGUSR1");
    await run.stdout.waitFor(/^got SIGUSR1 1$/);
    process.kill(Number(child), "SIGKILL");
    expect(await run.finished()).toBe(137);
  });

  test("signal during start-up reaches the child", async () => {
    // jerrylock logs the subreaper registration just before the start-up
    // pass and the spawn, so the signal lands while the command starts.
    const run = startJerrylock(["run", "-v", "--", "sh", "-c", "read line; exit 9"]);
    await run.stderr.waitFor(/registered as child subreaper/);
    process.kill(run.pid, "SIGTERM");
    expect(await run.finished()).toBe(143);
    expect(run.proc.signalCode).toBeNull();
  });
});
