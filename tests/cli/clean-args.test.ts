// Runs `jerrylock clean` and `jerrylock ls` through main() against temporary
// directories, capturing stdout and stderr, to pin parsing and exit codes.
import { afterAll, afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXIT } from "../../src/cli/exit-codes.ts";
import { main } from "../../src/cli/main.ts";

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

const scratch = realpathSync(mkdtempSync(join(tmpdir(), "jerrylock-clean-args-")));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs main() with stdout and stderr captured. */
async function jerrylock(...argv: string[]): Promise<Outcome> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const writeOut = process.stdout.write;
  const writeErr = process.stderr.write;
  process.stdout.write = ((chunk: string | Uint8Array) => stdout.push(String(chunk)) > 0) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => stderr.push(String(chunk)) > 0) as typeof process.stderr.write;
  try {
    const code = await main(argv);
    return { code, stdout: stdout.join(""), stderr: stderr.join("") };
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
  }
}

let counter = 0;

/** Creates a lock directory with an empty file 2 hours old and one 200 seconds old. */
function lockDir(): string {
  counter += 1;
  const dir = join(scratch, `locks-${counter}`);
  mkdirSync(dir);
  const now = Date.now() / 1000;
  writeFileSync(join(dir, "old.lock"), "");
  utimesSync(join(dir, "old.lock"), now - 7200, now - 7200);
  writeFileSync(join(dir, "young.lock"), "");
  utimesSync(join(dir, "young.lock"), now - 200, now - 200);
  return dir;
}

/** Verdicts by file name from `ls --json`. */
async function verdictsWith(...options: string[]): Promise<Record<string, string>> {
  const dir = lockDir();
  const outcome = await jerrylock("ls", "--json", ...options, dir);
  const report = JSON.parse(outcome.stdout) as { locks: { path: string; verdict: string }[] };
  return Object.fromEntries(report.locks.map((lock) => [lock.path.slice(dir.length + 1), lock.verdict]));
}

describe("clean arguments", () => {
  test("reads --max-age 300 as seconds", async () => {
    expect(await verdictsWith("--max-age", "300")).toEqual({ "old.lock": "orphan", "young.lock": "fresh" });
  });

  test("reads --max-age 100s", async () => {
    expect(await verdictsWith("--max-age", "100s")).toEqual({ "old.lock": "orphan", "young.lock": "orphan" });
  });

  test("reads --max-age 5m", async () => {
    expect(await verdictsWith("--max-age", "5m")).toEqual({ "old.lock": "orphan", "young.lock": "fresh" });
  });

  test("reads --max-age 3h", async () => {
    expect(await verdictsWith("--max-age", "3h")).toEqual({ "old.lock": "fresh", "young.lock": "fresh" });
  });

  test("rejects an invalid --max-age", async () => {
    const outcome = await jerrylock("clean", "--max-age", "5x", scratch);

    expect(outcome.code).toBe(EXIT.usage);
    expect(outcome.stderr).toContain('invalid --max-age "5x"');
  });

  test("rejects an invalid --timeout", async () => {
    const outcome = await jerrylock("clean", "--timeout", "soon", scratch);

    expect(outcome.code).toBe(EXIT.usage);
    expect(outcome.stderr).toContain('invalid --timeout "soon"');
  });

  test("names an unknown option", async () => {
    const outcome = await jerrylock("clean", "--bogus", scratch);

    expect(outcome.code).toBe(EXIT.usage);
    expect(outcome.stderr).toContain('unknown option "--bogus"');
    expect(outcome.stderr).toContain("See 'jerrylock clean --help'");
  });

  test("rejects --dry-run for ls", async () => {
    const outcome = await jerrylock("ls", "--dry-run", scratch);

    expect(outcome.code).toBe(EXIT.usage);
    expect(outcome.stderr).toContain('unknown option "--dry-run"');
  });

  test("rejects --quiet with --verbose", async () => {
    const outcome = await jerrylock("clean", "--quiet", "--verbose", scratch);

    expect(outcome.code).toBe(EXIT.usage);
    expect(outcome.stderr).toContain("--quiet and --verbose cannot be combined");
  });

  test("rejects an empty --pattern", async () => {
    const outcome = await jerrylock("clean", "--pattern", "", scratch);

    expect(outcome.code).toBe(EXIT.usage);
    expect(outcome.stderr).toContain('invalid --pattern ""');
  });

  test("removes nothing after a usage error", async () => {
    const dir = lockDir();
    await jerrylock("clean", "-q", "-v", dir);
    expect(existsSync(join(dir, "old.lock"))).toBe(true);
  });
});

describe("main", () => {
  test("shows help and exits 0", async () => {
    const outcome = await jerrylock("clean", "--help");

    expect(outcome.code).toBe(EXIT.ok);
    expect(outcome.stdout).toStartWith("Usage: jerrylock clean");
  });

  test("exits 2 without a command", async () => {
    const outcome = await jerrylock();

    expect(outcome.code).toBe(EXIT.usage);
    expect(outcome.stderr).toStartWith("Usage: jerrylock COMMAND");
  });

  test("names an unknown command", async () => {
    const outcome = await jerrylock("purge");

    expect(outcome.code).toBe(EXIT.usage);
    expect(outcome.stderr).toContain('unknown command "purge"');
  });
});

describe("clean and ls on a directory", () => {
  test("clean removes an orphan and exits 0", async () => {
    const dir = lockDir();
    const outcome = await jerrylock("clean", dir);

    expect(outcome.code).toBe(EXIT.ok);
    expect(existsSync(join(dir, "old.lock"))).toBe(false);
    expect(existsSync(join(dir, "young.lock"))).toBe(true);
  });

  test("clean prints its summary on stderr only", async () => {
    const outcome = await jerrylock("clean", lockDir());

    expect(outcome.stdout).toBe("");
    expect(outcome.stderr).toContain("jerrylock clean: removed 1 of 2 lock files");
  });

  test("clean --quiet prints nothing on success", async () => {
    const outcome = await jerrylock("clean", "--quiet", lockDir());
    expect(outcome.stderr).toBe("");
  });

  test("clean --dry-run keeps every file", async () => {
    const dir = lockDir();
    const outcome = await jerrylock("clean", "--dry-run", dir);

    expect(outcome.code).toBe(EXIT.ok);
    expect(existsSync(join(dir, "old.lock"))).toBe(true);
    expect(outcome.stderr).toContain("would remove 1 of 2 lock files");
  });

  test("clean --json prints one document on stdout", async () => {
    const outcome = await jerrylock("clean", "--json", lockDir());
    const report = JSON.parse(outcome.stdout) as { version: string; summary: { removed: number } };

    expect(report.summary.removed).toBe(1);
    expect(typeof report.version).toBe("string");
    expect(outcome.stderr).toBe("");
  });

  test("ls prints a table and removes nothing", async () => {
    const dir = lockDir();
    const outcome = await jerrylock("ls", dir);

    expect(outcome.code).toBe(EXIT.ok);
    expect(outcome.stdout).toStartWith("PATH");
    expect(existsSync(join(dir, "old.lock"))).toBe(true);
  });

  test("exits 2 for a missing explicit directory", async () => {
    const missing = join(scratch, "missing");
    const outcome = await jerrylock("clean", missing);

    expect(outcome.code).toBe(EXIT.usage);
    expect(outcome.stderr).toContain(`lock directory "${missing}" does not exist`);
  });

  test("exits 2 for a file given as directory", async () => {
    const file = join(lockDir(), "old.lock");
    const outcome = await jerrylock("ls", file);

    expect(outcome.code).toBe(EXIT.usage);
    expect(outcome.stderr).toContain("is not a directory");
  });
});

describe("clean without a DIR", () => {
  const savedCwd = process.cwd();
  const savedDir = process.env.JERRYLOCK_DIR;
  beforeEach(() => {
    delete process.env.JERRYLOCK_DIR;
  });
  afterEach(() => {
    process.chdir(savedCwd);
    if (savedDir === undefined) delete process.env.JERRYLOCK_DIR;
    else process.env.JERRYLOCK_DIR = savedDir;
  });

  test("uses JERRYLOCK_DIR", async () => {
    const dir = lockDir();
    process.env.JERRYLOCK_DIR = dir;
    await jerrylock("clean", "--quiet");

    expect(existsSync(join(dir, "old.lock"))).toBe(false);
  });

  test("names JERRYLOCK_DIR when it is missing", async () => {
    process.env.JERRYLOCK_DIR = join(scratch, "missing-from-env");
    const outcome = await jerrylock("clean");

    expect(outcome.code).toBe(EXIT.ok);
    expect(outcome.stderr).toContain("(from JERRYLOCK_DIR)");
  });

  test("fails a missing JERRYLOCK_DIR under --strict", async () => {
    process.env.JERRYLOCK_DIR = join(scratch, "missing-from-env");
    const outcome = await jerrylock("clean", "--strict");

    expect(outcome.code).toBe(EXIT.failed);
  });

  test("discovers the project's lock directory", async () => {
    const project = join(scratch, "project");
    const locks = join(project, ".jerry", "local", "locks");
    mkdirSync(join(project, "src"), { recursive: true });
    mkdirSync(locks, { recursive: true });
    writeFileSync(join(locks, "old.lock"), "");
    utimesSync(join(locks, "old.lock"), Date.now() / 1000 - 7200, Date.now() / 1000 - 7200);
    process.chdir(join(project, "src"));
    await jerrylock("clean", "--quiet");

    expect(existsSync(join(locks, "old.lock"))).toBe(false);
  });

  test("exits 0 when no .jerry exists", async () => {
    const lonely = join(scratch, "lonely");
    mkdirSync(lonely);
    process.chdir(lonely);
    const outcome = await jerrylock("clean");

    expect(outcome.code).toBe(EXIT.ok);
    expect(outcome.stderr).toContain("no .jerry folder in");
  });

  test("prints an empty JSON report when no .jerry exists", async () => {
    const lonely = join(scratch, "lonely-json");
    mkdirSync(lonely);
    process.chdir(lonely);
    const outcome = await jerrylock("ls", "--json");

    expect(JSON.parse(outcome.stdout).locks).toEqual([]);
  });

  test("exits 0 when the project has no locks folder", async () => {
    const project = join(scratch, "no-locks");
    mkdirSync(join(project, ".jerry"), { recursive: true });
    process.chdir(project);
    const outcome = await jerrylock("clean");

    expect(outcome.code).toBe(EXIT.ok);
    expect(outcome.stderr).toContain("does not exist, so there are no lock files");
  });
});
