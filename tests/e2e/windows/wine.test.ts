// Smoke suite of the Windows binary, run under Wine on Linux.
//
// Setup, all inside one temporary directory: build jerrylock.exe and the
// platform-check.exe helper for bun-windows-x64, compile the ProcessPrng
// stand-in DLL (processprng.c) beside them, and start a private WINEPREFIX.
// Wine 8 lacks ProcessPrng in bcryptprimitives.dll, which Bun's Windows build
// imports; the stand-in exists only for Wine and is never shipped.
//
// Lock holders are second Windows processes (platform-check.exe) that print
// "ready PID" once they hold the lock or the open handle, and exit when their
// standard input closes.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { spawn, spawnSync, type Subprocess } from "bun";
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasCommand, needs } from "../../helpers/require.ts";

const HERE = import.meta.dir;
const ROOT = join(HERE, "..", "..", "..");
const MINGW_GCC = "x86_64-w64-mingw32-gcc";
/** Calling wine64 directly skips the wrapper's note about a missing wine32. */
const WINE = existsSync("/usr/lib/wine/wine64") ? "/usr/lib/wine/wine64" : "wine";
/** A pid that no Wine process has: Wine numbers its processes from 32 upward in small steps. */
const DEAD_PID = 999_996;
const HOUR_AGO = (Date.now() - 3_600_000) / 1000;

// Wine runs x86-64 Windows binaries only on an x86-64 host, so elsewhere the
// suite skips even in CI, where scripts/ci-wine.sh installs nothing either.
const onX64 = process.arch === "x64";
if (!onX64) console.warn(`skipping the Wine suite: Wine cannot run x86-64 Windows binaries on a ${process.arch} host`);

const ready =
  onX64 &&
  needs("wine", "wine", hasCommand("wine")) &&
  needs("wine64", "wine64", existsSync("/usr/lib/wine/wine64") || hasCommand("wine64")) &&
  needs(MINGW_GCC, "gcc-mingw-w64-x86-64", hasCommand(MINGW_GCC));

let work = "";
let env: Record<string, string> = {};

/** Windows path of a Linux path, through Wine's Z: drive. */
function windowsPath(path: string): string {
  return `Z:${path.replaceAll("/", "\\")}`;
}

function wine(args: string[]): { status: number; stdout: string; stderr: string } {
  const result = spawnSync([WINE, ...args], { env, cwd: work, stdout: "pipe", stderr: "pipe" });
  return { status: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

function jerrylock(...args: string[]): { status: number; stdout: string; stderr: string } {
  return wine([join(work, "jerrylock.exe"), ...args]);
}

function check(...args: string[]): { status: number; stdout: string; stderr: string } {
  return wine([join(work, "platform-check.exe"), ...args]);
}

/** Verdict of every file `jerrylock ls --json DIR` reports, by file name. */
function verdicts(dir: string, ...options: string[]): Record<string, string> {
  const result = jerrylock("ls", "--json", ...options, windowsPath(dir));
  expect({ status: result.status, stderr: result.stderr }).toMatchObject({ status: 0 });
  const report = JSON.parse(result.stdout) as { locks: { path: string; verdict: string }[] };
  return Object.fromEntries(report.locks.map((lock) => [lock.path.split(/[\\/]/).pop()!, lock.verdict]));
}

/** A second Windows process that keeps something open until stopped. */
interface Holder {
  process: Subprocess<"pipe", "pipe", "pipe">;
  pid: number;
  stop(): Promise<void>;
}

async function startHolder(args: string[]): Promise<Holder> {
  const process = spawn([WINE, ...args], { env, cwd: work, stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  const reader = process.stdout.getReader();
  let text = "";
  for (;;) {
    const match = /ready (\d+)/.exec(text);
    if (match !== null) {
      reader.releaseLock();
      return {
        process,
        pid: Number(match[1]),
        stop: async () => {
          process.stdin.end();
          await process.exited;
        },
      };
    }
    const chunk = await reader.read();
    if (chunk.done) {
      const stderr = await new Response(process.stderr).text();
      throw new Error(`holder ${args.join(" ")} exited before "ready": ${text}${stderr}`);
    }
    text += new TextDecoder().decode(chunk.value);
  }
}

function freshDir(name: string): string {
  const dir = join(work, name);
  mkdirSync(dir);
  return dir;
}

// Each Wine start takes up to a few seconds on a loaded machine.
setDefaultTimeout(60_000);

describe.if(ready)("Windows binary under Wine", () => {
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), "jerrylock-wine-"));
    env = {
      ...(process.env as Record<string, string>),
      WINEDEBUG: "-all",
      WINEPREFIX: join(work, "prefix"),
      // Load the stand-in beside the exe rather than Wine's own bcryptprimitives.
      WINEDLLOVERRIDES: "bcryptprimitives=n,b",
    };

    const build = spawnSync([process.execPath, "scripts/build.ts", "--target", "windows-x64", "--outdir", work], { cwd: ROOT, stderr: "pipe" });
    if (build.exitCode !== 0) throw new Error(`building jerrylock.exe failed: ${build.stderr.toString()}`);
    renameSync(join(work, "jerrylock-windows-x64.exe"), join(work, "jerrylock.exe"));

    const helper = spawnSync(
      [process.execPath, "build", "--compile", "--target=bun-windows-x64", join(HERE, "platform-check.ts"), "--outfile", join(work, "platform-check.exe")],
      { cwd: ROOT, stdout: "pipe", stderr: "pipe" },
    );
    if (helper.exitCode !== 0) throw new Error(`building platform-check.exe failed: ${helper.stderr.toString()}`);

    const dll = spawnSync([MINGW_GCC, "-shared", "-O2", "-s", "-o", join(work, "bcryptprimitives.dll"), join(HERE, "processprng.c"), "-ladvapi32"], {
      stderr: "pipe",
    });
    if (dll.exitCode !== 0) throw new Error(`compiling the ProcessPrng stand-in failed: ${dll.stderr.toString()}`);

    // A persistent wineserver keeps every start after the first well under a
    // second. The server and the first start (which creates the prefix, about
    // 8 s, and launches Wine's service processes) get no pipes: those
    // processes outlive the call, and spawnSync would wait for them to close
    // its stdout. wineserver needs the prefix directory to exist.
    mkdirSync(env.WINEPREFIX!);
    const quiet = { env, cwd: work, stdin: "ignore", stdout: "ignore", stderr: "ignore" } as const;
    spawnSync(["wineserver", "-p"], quiet);
    const first = spawnSync([WINE, join(work, "jerrylock.exe"), "--version"], quiet);
    if (first.exitCode !== 0) throw new Error(`jerrylock.exe --version failed under Wine with exit code ${first.exitCode}`);
  }, 300_000);

  afterAll(() => {
    if (work === "") return;
    spawnSync(["wineserver", "-k"], { env });
    rmSync(work, { recursive: true, force: true });
  });

  test("--version names the Windows target", () => {
    const result = jerrylock("--version");
    expect(result.stdout).toMatch(/^jerrylock \d+\.\d+\.\d+ \(windows-x64\)\r?\n$/);
    expect(result.status).toBe(0);
  });

  test("platform sees its own process alive", () => {
    const result = check("self");
    const report = JSON.parse(result.stdout) as { pid: number; self: { liveness: string; startId?: string } };
    expect(report.self.liveness).toBe("alive");
    expect(report.self.startId).toMatch(/^\d+$/);
  });

  test("stale owner record is removed", () => {
    const dir = freshDir("stale");
    writeFileSync(join(dir, "build.lock"), `${DEAD_PID}\n`);
    utimesSync(join(dir, "build.lock"), HOUR_AGO, HOUR_AGO);

    expect(verdicts(dir)).toEqual({ "build.lock": "stale" });
    const clean = jerrylock("clean", windowsPath(dir));
    expect(clean.status).toBe(0);
    expect(existsSync(join(dir, "build.lock"))).toBe(false);
  });

  test("old empty file is an orphan and removed", () => {
    const dir = freshDir("orphan");
    writeFileSync(join(dir, "old.lock"), "");
    utimesSync(join(dir, "old.lock"), HOUR_AGO, HOUR_AGO);

    expect(verdicts(dir)).toEqual({ "old.lock": "orphan" });
    expect(jerrylock("clean", windowsPath(dir)).status).toBe(0);
    expect(existsSync(join(dir, "old.lock"))).toBe(false);
  });

  test("byte-range lock of another process is held and kept", async () => {
    const dir = freshDir("held");
    // An empty file with a byte-range lock, as py-filelock leaves it on Windows.
    const holder = await startHolder([join(work, "platform-check.exe"), "hold-lock", windowsPath(dir), "empty.lock"]);
    try {
      utimesSync(join(dir, "empty.lock"), HOUR_AGO, HOUR_AGO);
      expect(verdicts(dir)).toEqual({ "empty.lock": "held" });

      const clean = jerrylock("clean", windowsPath(dir));
      expect(clean.status).toBe(0);
      expect(existsSync(join(dir, "empty.lock"))).toBe(true);
    } finally {
      await holder.stop();
    }

    // Once the holder has exited, nothing holds the old empty file.
    expect(jerrylock("clean", windowsPath(dir)).status).toBe(0);
    expect(existsSync(join(dir, "empty.lock"))).toBe(false);
  }, 60_000);

  test("file open without delete sharing is open and kept", async () => {
    const dir = freshDir("open");
    const holder = await startHolder([join(work, "platform-check.exe"), "hold-open", windowsPath(dir), "open.lock"]);
    try {
      utimesSync(join(dir, "open.lock"), HOUR_AGO, HOUR_AGO);
      expect(verdicts(dir)).toEqual({ "open.lock": "open" });

      expect(jerrylock("clean", windowsPath(dir)).status).toBe(0);
      expect(existsSync(join(dir, "open.lock"))).toBe(true);
    } finally {
      await holder.stop();
    }
  }, 60_000);

  test("removal protocol keeps a locked file", async () => {
    const dir = freshDir("protocol");
    const holder = await startHolder([join(work, "platform-check.exe"), "hold-lock", windowsPath(dir), "p.lock"]);
    try {
      const outcome = JSON.parse(check("remove", windowsPath(dir), "p.lock").stdout) as { removed: boolean; verdict?: string };
      expect(outcome).toMatchObject({ removed: false, verdict: "held" });
    } finally {
      await holder.stop();
    }
    const outcome = JSON.parse(check("remove", windowsPath(dir), "p.lock").stdout) as { removed: boolean };
    expect(outcome.removed).toBe(true);
  }, 60_000);

  test("liveness of a holder follows its process", async () => {
    const dir = freshDir("liveness");
    const holder = await startHolder([join(work, "platform-check.exe"), "hold-open", windowsPath(dir), "x.lock"]);
    const alive = JSON.parse(check("inspect", String(holder.pid)).stdout) as { liveness: string; command?: string };
    await holder.stop();
    const dead = JSON.parse(check("inspect", String(DEAD_PID)).stdout) as { liveness: string };

    expect(alive).toMatchObject({ liveness: "alive", command: "platform-check.exe" });
    expect(dead.liveness).toBe("dead");
  }, 60_000);

  test("run passes exit codes through whole", () => {
    // Linux sees only the low 8 bits of a Wine process's exit code, so a
    // Windows batch file reads the full code from %ERRORLEVEL%.
    const script = [
      "@echo off",
      "jerrylock.exe run -- cmd /c exit 3",
      "echo code=%ERRORLEVEL%",
      "jerrylock.exe run -- cmd /c exit 300",
      "echo code=%ERRORLEVEL%",
      "jerrylock.exe run -- cmd /c exit -1073741819",
      "echo code=%ERRORLEVEL%",
      "",
    ].join("\r\n");
    writeFileSync(join(work, "exit-codes.bat"), script);

    const result = wine(["cmd", "/c", windowsPath(join(work, "exit-codes.bat"))]);
    const codes = [...result.stdout.matchAll(/code=(-?\d+)/g)].map((match) => Number(match[1]));
    expect({ codes, output: result.stdout + result.stderr }).toMatchObject({ codes: [3, 300, -1073741819] });
  }, 60_000);

  test("run exit code reaches Linux", () => {
    expect(jerrylock("run", "--", "cmd", "/c", "exit", "7").status).toBe(7);
  }, 60_000);

  test("with holds a lock that another jerrylock sees", async () => {
    const dir = freshDir("with");
    const lock = windowsPath(join(dir, "job.lock"));
    const holder = await startHolder([join(work, "jerrylock.exe"), "with", lock, "--", windowsPath(join(work, "platform-check.exe")), "wait"]);
    try {
      expect(verdicts(dir)).toEqual({ "job.lock": "held" });
      expect(jerrylock("clean", windowsPath(dir)).status).toBe(0);
      expect(existsSync(join(dir, "job.lock"))).toBe(true);

      const second = jerrylock("with", "--nonblock", lock, "--", "cmd", "/c", "exit", "0");
      expect(second.status).toBe(1);
    } finally {
      await holder.stop();
    }
    expect(existsSync(join(dir, "job.lock"))).toBe(false);
  }, 60_000);
});
