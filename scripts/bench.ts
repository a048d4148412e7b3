// `npm run bench`: measures jerrylock clean, run and with beside the tools
// users already have, in one run on one machine, and writes
// docs/BENCHMARKS.md and docs/benchmarks.svg. See `--help` for the options.
import { spawnSync } from "bun";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { Holders, THRESHOLD_MINUTES } from "./bench/inputs.ts";
import {
  type Cleaner,
  type CleanerResult,
  hyperfine,
  measureRss,
  type RssResult,
  runRound,
  type StartCommand,
  type StartResult,
} from "./bench/measure.ts";
import { BenchUsageError, type BenchOptions, parseBenchArgs, USAGE } from "./bench/options.ts";
import { type BenchReport, formatCount, renderChart, renderPage, type StressResult, type Unavailable } from "./bench/report.ts";

const ROOT = resolve(import.meta.dir, "..");
const BENCH = join(ROOT, "bench");
const THRESHOLD_SECONDS = String(THRESHOLD_MINUTES * 60);
/** Smallest directory for the untimed warm-up and the check that `clean` works at all. */
const TRIAL_SIZE = 200;

const TMPFS_MAGIC = 0x01021994;

/**
 * Picks /dev/shm when it is a tmpfs. Inputs on a disk make the bench slow and
 * noisy: on the no-journal ext4 VM disk this bench was written on, refilling a
 * directory with 100k files took about 44 s per round, because ext4 without a
 * journal skips inodes freed in the last 30 s when allocating (Linux
 * fs/ext4/ialloc.c, find_inode_bit).
 */
function defaultWorkDir(): string {
  try {
    if (statfsSync("/dev/shm").type === TMPFS_MAGIC) return "/dev/shm";
  } catch {
    // No /dev/shm on this OS: fall back to the temp dir.
  }
  return tmpdir();
}

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

function firstLine(text: string): string {
  return text.trim().split("\n")[0] ?? "";
}

function versionOf(argv: string[]): string {
  const result = spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  return firstLine(`${result.stdout.toString()}\n${result.stderr.toString()}`.trim()) || "unknown";
}

/** Exits with a message naming the Debian package when a tool every part of the bench needs is missing. */
function requireTools(): void {
  const required: [string, string][] = [
    ["hyperfine", "hyperfine"],
    ["cc", "gcc"],
    ["find", "findutils"],
    ["/usr/bin/python3", "python3"],
  ];
  for (const [tool, debianPackage] of required) {
    if (Bun.which(tool) === null) {
      throw new BenchUsageError(`${tool} not found: install the Debian package "${debianPackage}" and run the bench again`);
    }
  }
}

function compileHelpers(tmp: string): { floor: string; noop: string } {
  const floor = join(tmp, "floor");
  const cc = spawnSync(["cc", "-O2", "-Wall", "-o", floor, join(BENCH, "floor.c")], { stderr: "pipe" });
  if (cc.exitCode !== 0) throw new Error(`cc failed to compile bench/floor.c: ${cc.stderr.toString()}`);

  const noop = join(tmp, "noop");
  const bun = spawnSync([process.execPath, "build", "--compile", join(BENCH, "noop.ts"), "--outfile", noop], { stdout: "pipe", stderr: "pipe" });
  if (bun.exitCode !== 0) throw new Error(`bun build failed for bench/noop.ts: ${bun.stderr.toString()}`);
  return { floor, noop };
}

interface Build {
  /** Suffix for ids and labels: empty for the build under test. */
  suffix: string;
  path: string;
}

function builds(jerrylock: string, options: BenchOptions): Build[] {
  return [{ suffix: "", path: jerrylock }, ...options.variants.map((variant) => ({ suffix: ` (${variant.label})`, path: resolve(variant.path) }))];
}

function cleaners(floor: string, jerrylocks: Build[]): Cleaner[] {
  const jerrylockCleaners = jerrylocks.map(
    (build, index): Cleaner => ({
      id: index === 0 ? "jerrylock" : `jerrylock-${index}`,
      label: `jerrylock clean${build.suffix}`,
      expectSafe: true,
      display: `jerrylock clean --max-age ${THRESHOLD_MINUTES}m -q DIR${build.suffix === "" ? "" : ` (${build.path})`}`,
      command: (dir) => [build.path, "clean", "--max-age", `${THRESHOLD_MINUTES}m`, "-q", dir],
    }),
  );
  return [
    {
      id: "find",
      expectSafe: false,
      label: "find -delete (unsafe)",
      display: `find DIR -name '*.lock' -mmin +${THRESHOLD_MINUTES} -delete`,
      command: (dir) => ["find", dir, "-name", "*.lock", "-mmin", `+${THRESHOLD_MINUTES}`, "-delete"],
    },
    {
      id: "python",
      expectSafe: false,
      label: "Python reference",
      display: `python3 bench/reference_collector.py --max-age ${THRESHOLD_SECONDS} DIR`,
      command: (dir) => ["/usr/bin/python3", join(BENCH, "reference_collector.py"), "--max-age", THRESHOLD_SECONDS, dir],
    },
    {
      id: "floor",
      label: "C floor",
      expectSafe: true,
      display: `floor -a ${THRESHOLD_SECONDS} DIR (bench/floor.c, cc -O2)`,
      command: (dir) => [floor, "-a", THRESHOLD_SECONDS, dir],
    },
    {
      id: "floor-direct",
      label: "C floor, direct open",
      expectSafe: true,
      display: `floor -D -a ${THRESHOLD_SECONDS} DIR`,
      command: (dir) => [floor, "-D", "-a", THRESHOLD_SECONDS, dir],
    },
    {
      id: "floor-nolease",
      expectSafe: false,
      label: "C floor, no lease",
      display: `floor -L -a ${THRESHOLD_SECONDS} DIR`,
      command: (dir) => [floor, "-L", "-a", THRESHOLD_SECONDS, dir],
    },
    ...jerrylockCleaners,
  ];
}

/** Runs a command once; returns null when it exits 0, else why it cannot be measured. */
function tryCommand(argv: string[], cwd: string): string | null {
  if (!existsSync(argv[0] as string) && Bun.which(argv[0] as string) === null) return `${argv[0]} not found`;
  const result = spawnSync(argv, { cwd, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  if (result.exitCode === 0) return null;
  return `exit status ${result.exitCode}: ${firstLine(result.stderr.toString()) || "no message"}`;
}

function startCommands(noop: string, jerrylocks: Build[], tmp: string, unavailable: Unavailable[]): StartCommand[] {
  const lockPath = join(tmp, "with.lock");
  writeFileSync(lockPath, "");
  const candidates: (StartCommand & { debianPackage?: string })[] = [
    { id: "true", label: "/bin/true", argv: ["/bin/true"] },
    { id: "noop", label: "bun no-op", argv: [noop] },
    { id: "noop-spawn", label: "bun no-op /bin/true", argv: [noop, "/bin/true"] },
    { id: "tini", label: "tini -s -- /bin/true", argv: ["tini", "-s", "--", "/bin/true"], debianPackage: "tini" },
    { id: "dumb-init", label: "dumb-init /bin/true", argv: ["dumb-init", "/bin/true"], debianPackage: "dumb-init" },
    ...jerrylocks.map((build, index) => ({
      id: index === 0 ? "run" : `run-${index}`,
      label: `jerrylock run -- /bin/true${build.suffix}`,
      argv: [build.path, "run", "--", "/bin/true"],
    })),
    { id: "flock", label: "flock L /bin/true", argv: ["flock", lockPath, "/bin/true"], debianPackage: "util-linux" },
    ...jerrylocks.map((build, index) => ({
      id: index === 0 ? "with" : `with-${index}`,
      label: `jerrylock with L -- /bin/true${build.suffix}`,
      argv: [build.path, "with", lockPath, "--", "/bin/true"],
    })),
  ];
  const available: StartCommand[] = [];
  for (const { debianPackage, ...command } of candidates) {
    const problem = tryCommand(command.argv, tmp);
    if (problem === null) {
      available.push(command);
    } else {
      const hint = debianPackage === undefined ? "" : ` (Debian package "${debianPackage}")`;
      unavailable.push({ label: `\`${command.label}\``, reason: `not available: ${problem}${hint}` });
      log(`${command.label}: not available: ${problem}`);
    }
  }
  return available;
}

function roundsFor(options: BenchOptions, size: number): number {
  return size <= 1_000 ? Math.max(options.runs, 10) : options.runs;
}

/** Reads the max RSS GNU time wrote with `-f %M` (KiB); null when absent. */
function readMaxRss(path: string): number | null {
  if (!existsSync(path)) return null;
  const kib = Number(readFileSync(path, "utf8").trim().split("\n").at(-1));
  return Number.isFinite(kib) && kib > 0 ? kib * 1024 : null;
}

async function measureCleaners(
  options: BenchOptions,
  list: Cleaner[],
  tmp: string,
  holders: Holders,
  unavailable: Unavailable[],
  deadline: number,
): Promise<CleanerResult[]> {
  // One round each on a small directory shows whether jerrylock clean works
  // at all yet; a cleaner that fails it is listed as not available.
  const measured: Cleaner[] = [];
  for (const cleaner of list) {
    const program = cleaner.command("DIR")[0] as string;
    if (!existsSync(program) && Bun.which(program) === null) {
      unavailable.push({ label: cleaner.label, reason: `not available: ${program} not found` });
      log(`${cleaner.label}: not available: ${program} not found`);
      continue;
    }
    const { sample, stderr } = await runRound(cleaner, TRIAL_SIZE, join(tmp, "files-trial"), holders);
    if (sample.exitCode !== 0 || sample.check.staleLeft > 0) {
      const why =
        sample.exitCode !== 0
          ? `exit status ${sample.exitCode}: ${firstLine(stderr) || "no message"}`
          : `left ${sample.check.staleLeft} of ${TRIAL_SIZE - sample.held} stale files in place`;
      unavailable.push({ label: cleaner.label, reason: `not available: ${why}` });
      log(`${cleaner.label}: not available: ${why}`);
      continue;
    }
    measured.push(cleaner);
  }

  const gnuTime = existsSync("/usr/bin/time") ? "/usr/bin/time" : null;
  if (gnuTime === null) log('/usr/bin/time not found: max RSS of the cleaners is not measured (Debian package "time")');
  const rssPath = join(tmp, "maxrss.txt");

  const results: CleanerResult[] = [];
  for (const size of options.sizes) {
    const dir = join(tmp, `files-${size}`);
    const bySize: CleanerResult[] = measured.map((cleaner) => ({ cleaner, size, samples: [], maxRssBytes: null }));
    results.push(...bySize);

    // The first round per cleaner runs under GNU time for max RSS and is not
    // timed; it also warms the directory and the page cache.
    for (const result of bySize) {
      rmSync(rssPath, { force: true });
      const prefix = gnuTime === null ? [] : [gnuTime, "-f", "%M", "-o", rssPath];
      await runRound(result.cleaner, size, dir, holders, prefix);
      result.maxRssBytes = readMaxRss(rssPath);
    }

    const rounds = roundsFor(options, size);
    for (let round = 0; round < rounds; round++) {
      for (const result of bySize) {
        if (result.samples.length > 0 && Date.now() > deadline) continue;
        const { sample, stderr } = await runRound(result.cleaner, size, dir, holders);
        result.samples.push(sample);
        if (sample.exitCode !== 0) log(`${result.cleaner.label} exited with status ${sample.exitCode}: ${firstLine(stderr)}`);
        if (sample.check.heldKept < sample.held && result.cleaner.expectSafe) {
          log(`${result.cleaner.label} removed ${sample.held - sample.check.heldKept} held files at ${formatCount(size)}`);
        }
      }
      log(`${formatCount(size)} files: round ${round + 1} of ${rounds} done`);
    }
    if (Date.now() > deadline) log(`time budget of ${options.maxSeconds} s spent: later cases get one round each`);
  }
  return results;
}

async function measureMemory(noop: string, jerrylocks: Build[], cwd: string, unavailable: Unavailable[]): Promise<RssResult[]> {
  const wrappers: [string, string[]][] = [
    ...jerrylocks.map((build): [string, string[]] => [`jerrylock run${build.suffix}`, [build.path, "run", "--"]]),
    ["bun no-op awaiting its child", [noop]],
    ["tini -s", ["tini", "-s", "--"]],
    ["dumb-init", ["dumb-init"]],
  ];
  const rows: RssResult[] = [];
  for (const [label, prefix] of wrappers) {
    const row = await measureRss(label, prefix, cwd);
    if (row.peakBytes === null) unavailable.push({ label: `RSS of ${label}`, reason: `not available: ${row.error}` });
    rows.push(row);
  }
  return rows;
}

function machineInfo(workDir: string): [string, string][] {
  const osRelease = existsSync("/etc/os-release") ? readFileSync("/etc/os-release", "utf8") : "";
  const leases = existsSync("/proc/sys/fs/leases-enable") ? readFileSync("/proc/sys/fs/leases-enable", "utf8").trim() : "n/a";
  const filesystem = versionOf(["stat", "-f", "-c", "%T", workDir]);
  return [
    ["CPU", `${cpus()[0]?.model.trim() ?? "unknown"}, ${availableParallelism()} logical CPUs`],
    ["memory", `${(totalmem() / 1024 ** 3).toFixed(1)} GiB`],
    ["OS", osRelease.match(/^PRETTY_NAME="?([^"\n]*)"?$/m)?.[1] ?? process.platform],
    ["kernel", release()],
    ["input directory", `${workDir} (${filesystem}); fs.leases-enable=${leases}`],
  ];
}

/** Names the commit of the checkout; the binaries may have been built from another one. */
function sourceTree(): string {
  const head = spawnSync(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], { stdout: "pipe", stderr: "pipe" });
  if (head.exitCode !== 0) return "not a git checkout";
  const status = spawnSync(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"], { stdout: "pipe", stderr: "pipe" });
  const dirty = status.stdout.toString().trim() !== "";
  return `commit ${head.stdout.toString().trim()}${dirty ? " with uncommitted changes" : ""}`;
}

function versions(jerrylocks: Build[]): [string, string][] {
  return [
    ["checkout running the bench", sourceTree()],
    ...jerrylocks.map((build): [string, string] => [
      `jerrylock${build.suffix}`,
      existsSync(build.path) ? versionOf([build.path, "--version"]) : "not built",
    ]),
    ["bun", Bun.version],
    ["python3", versionOf(["/usr/bin/python3", "--version"])],
    ["cc", versionOf(["cc", "--version"])],
    ["find", versionOf(["find", "--version"])],
    ["tini", versionOf(["tini", "--version"])],
    ["dumb-init", versionOf(["dumb-init", "--version"])],
    ["flock", versionOf(["flock", "--version"])],
    ["hyperfine", versionOf(["hyperfine", "--version"])],
  ];
}

/** Runs the mutual-exclusion stress tests at `rounds` critical sections per client. */
function runStress(rounds: number): StressResult {
  const command = `JERRYLOCK_STRESS_ROUNDS=${rounds} bun test tests/e2e/stress.test.ts`;
  log(`running ${command}`);
  const started = Date.now();
  const result = spawnSync([process.execPath, "test", "tests/e2e/stress.test.ts"], {
    cwd: ROOT,
    env: { ...process.env, JERRYLOCK_STRESS_ROUNDS: String(rounds), JERRYLOCK_REQUIRE_ALL: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const output = `${result.stdout.toString()}\n${result.stderr.toString()}`;
  const count = (word: string): number => Number(new RegExp(`^\\s*(\\d+) ${word}$`, "m").exec(output)?.[1] ?? 0);
  const stress = { rounds, passed: count("pass"), failed: count("fail"), seconds: (Date.now() - started) / 1000, command };
  if (result.exitCode !== 0 && stress.failed === 0) stress.failed = 1;
  log(`stress: ${stress.passed} passed, ${stress.failed} failed in ${Math.round(stress.seconds)} s`);
  return stress;
}

async function main(argv: string[]): Promise<number> {
  // Parse the options and check the tools.
  let options: BenchOptions;
  try {
    options = parseBenchArgs(argv, defaultWorkDir());
    if (options.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    requireTools();
  } catch (error) {
    if (!(error instanceof BenchUsageError)) throw error;
    process.stderr.write(`bench: ${error.message}\n\n${USAGE}\n`);
    return 2;
  }
  const startedAt = new Date();
  const startLoad = loadavg()[0] ?? Number.NaN;
  const deadline = startedAt.getTime() + options.maxSeconds * 1000;
  const jerrylock = resolve(options.jerrylock);

  // Build the helpers in a temporary directory that also contains every input.
  mkdirSync(options.workDir, { recursive: true });
  const tmp = mkdtempSync(join(options.workDir, "jerrylock-bench-"));
  const holders = new Holders(join(BENCH, "holder.py"));
  const stopOnSignal = (): void => {
    holders.stop();
    rmSync(tmp, { recursive: true, force: true });
    process.exit(130);
  };
  process.on("SIGINT", stopOnSignal);
  process.on("SIGTERM", stopOnSignal);

  try {
    const { floor, noop } = compileHelpers(tmp);
    const unavailable: Unavailable[] = [];
    await holders.start();
    log(`holders ${holders.pids().join(", ")} started; inputs under ${tmp}`);

    // Time the cleaners on fresh directories, then the start-up commands and memory.
    const jerrylocks = builds(jerrylock, options);
    const list = cleaners(floor, jerrylocks);
    const cleanerResults = await measureCleaners(options, list, tmp, holders, unavailable, deadline);

    const commands = startCommands(noop, jerrylocks, tmp, unavailable);
    log(`timing ${commands.length} start-up commands with hyperfine`);
    const startResults: StartResult[] = await hyperfine(commands, options.startRuns, tmp);
    const rss = await measureMemory(noop, jerrylocks, tmp, unavailable);
    const stress = options.stressRounds > 0 ? runStress(options.stressRounds) : null;

    // Write the page and the chart.
    const report: BenchReport = {
      quick: options.quick,
      commandLine: `npm run bench${argv.length > 0 ? ` -- ${argv.join(" ")}` : ""}`,
      startedAt,
      durationSeconds: (Date.now() - startedAt.getTime()) / 1000,
      machine: machineInfo(options.workDir),
      load: [startLoad, loadavg()[0] ?? Number.NaN],
      versions: versions(jerrylocks),
      cleaners: list,
      cleanerResults,
      startResults,
      rss,
      unavailable,
      runsNote: `${options.runs} rounds per file count, at least 10 at 1k files, fewer where the ${options.maxSeconds} s budget ran out (see the rounds column)`,
      chartFile: relative(dirname(resolve(options.page)), resolve(options.chart)),
      shorten: (text) => text.replaceAll(`${tmp}/`, "$TMP/").replaceAll(`${ROOT}/`, ""),
      stress,
      notes: existsSync(options.notes) && statSync(options.notes).isFile() ? readFileSync(options.notes, "utf8") : null,
    };
    const page = renderPage(report);
    if (options.write) {
      mkdirSync(dirname(options.page), { recursive: true });
      writeFileSync(options.page, page);
      writeFileSync(options.chart, renderChart(report));
      log(`wrote ${options.page} and ${options.chart} in ${Math.round(report.durationSeconds)} s`);
    } else {
      process.stdout.write(page);
    }
    return 0;
  } finally {
    holders.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
