// Shared pieces of the end-to-end tests: the compiled binary, temporary lock
// directories, and holder processes that print "ready PID" once they hold.
import { spawnSync, type Subprocess } from "bun";
import { existsSync, mkdtempSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const BINARY = resolve(import.meta.dir, "../../dist/jerrylock");
export const FIXTURES = resolve(import.meta.dir, "fixtures");
/** Debian's python, which has python3-filelock; a pyenv python may not. */
export const SYSTEM_PYTHON = "/usr/bin/python3";

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export function binaryExists(): boolean {
  return existsSync(BINARY);
}

/** Runs dist/jerrylock to completion. */
export function jerrylock(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): RunResult {
  const result = spawnSync([BINARY, ...args], {
    cwd: options.cwd,
    env: { ...process.env, NO_COLOR: "1", ...options.env },
    stdout: "pipe",
    stderr: "pipe",
  });
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

export interface LockLine {
  path: string;
  verdict: string;
  reason: string;
  removed: boolean;
  pid: number | null;
  command: string | null;
  age_seconds: number | null;
}

export interface JsonReport {
  locks: LockLine[];
  summary: { scanned: number; removed: number; kept: number; errors: number };
}

/** Runs a command with --json and parses stdout. */
export function jerrylockJson(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): JsonReport & RunResult {
  const result = jerrylock([...args, "--json"], options);
  return { ...result, ...(JSON.parse(result.stdout) as JsonReport) };
}

export function makeTempDir(prefix = "jerrylock-e2e-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Sets a file's mtime to `seconds` ago without following a symlink target. */
export function age(path: string | Buffer, seconds: number): void {
  const when = new Date(Date.now() - seconds * 1000);
  utimesSync(path, when, when);
}

export interface Holder {
  /** Pid printed by the fixture: the process that holds the lock. */
  pid: number;
  process: Subprocess<"pipe", "pipe", "inherit">;
  /** Closes the holder's stdin so it releases and exits, and waits for that. */
  stop(): Promise<void>;
}

/** Starts a fixture that prints "ready PID" when it is in place, and waits for that line. */
export async function startHolder(command: string[]): Promise<Holder> {
  const child = Bun.spawn(command, { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`holder ${command.join(" ")} exited before printing "ready PID"`);
    buffered += decoder.decode(value);
    const match = /^ready (\d+)$/m.exec(buffered);
    if (match?.[1] !== undefined) {
      reader.releaseLock();
      const pid = Number(match[1]);
      return {
        pid,
        process: child,
        async stop() {
          child.stdin.end();
          await child.exited;
          await waitForExit(pid);
        },
      };
    }
  }
}

/** Waits until `pid` is gone; a holder's forked child may outlive the process we spawned. */
export async function waitForExit(pid: number): Promise<void> {
  for (let attempt = 0; attempt < 1000; attempt += 1) {
    if (!isAlive(pid)) return;
    await Bun.sleep(10);
  }
  throw new Error(`pid ${pid} is still running`);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  // A zombie still answers kill(pid, 0).
  const state = spawnSync(["ps", "-o", "stat=", "-p", String(pid)]).stdout.toString().trim();
  return state !== "" && !state.startsWith("Z");
}

/** Returns a pid that is certainly dead: that of a short process that has exited and been reaped. */
export function deadPid(): number {
  const child = spawnSync(["sh", "-c", "echo $$"]);
  return Number(child.stdout.toString().trim());
}

export function holdWith(mode: string, path: string): Promise<Holder> {
  return startHolder([SYSTEM_PYTHON, join(FIXTURES, "hold.py"), mode, path]);
}
