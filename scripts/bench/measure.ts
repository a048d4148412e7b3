// Timing of the cleaner rounds (own loop, inputs prepared outside the timed
// region), of start-up commands (hyperfine) and of memory while a child sleeps.
import type { Subprocess } from "bun";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { checkRound, emptyRound, type Holders, prepareRound, type RoundCheck } from "./inputs.ts";

export interface Cleaner {
  id: string;
  label: string;
  /** Whether the cleaner must keep every held file; a removal is then logged as it happens. */
  expectSafe: boolean;
  /** Command line with DIR standing for the round's directory, as shown on the page. */
  display: string;
  command(dir: string): string[];
}

export interface CleanerSample {
  /** Wall time from spawn to exit. */
  ms: number;
  /** User plus system CPU time of the cleaner process, which other load on the machine disturbs less. */
  cpuMs: number;
  exitCode: number;
  check: RoundCheck;
  held: number;
}

export interface CleanerResult {
  cleaner: Cleaner;
  size: number;
  samples: CleanerSample[];
  /** Max RSS from GNU time in one extra, untimed round; null when not measured. */
  maxRssBytes: number | null;
}

export interface RoundOutcome {
  sample: CleanerSample;
  stderr: string;
}

/**
 * Fills `dir` with fresh files, lets the holders lock 1% of them, times one
 * cleaner, then checks and empties the directory. With `prefix` (GNU time for
 * the memory round) the cleaner runs under it.
 */
export async function runRound(
  cleaner: Cleaner,
  size: number,
  dir: string,
  holders: Holders,
  prefix: string[] = [],
): Promise<RoundOutcome> {
  const input = prepareRound(dir, size);
  await holders.hold(input.dir, input.held);

  try {
    const start = performance.now();
    const child = Bun.spawn([...prefix, ...cleaner.command(input.dir)], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    const stderrText = new Response(child.stderr).text();
    const exitCode = await child.exited;
    const ms = performance.now() - start;

    const stderr = await stderrText;
    const check = checkRound(input);
    const cpuMs = Number(child.resourceUsage()?.cpuTime.total ?? 0n) / 1000;
    return { sample: { ms, cpuMs, exitCode, check, held: input.held.length }, stderr };
  } finally {
    await holders.release();
    emptyRound(input);
  }
}

export interface StartCommand {
  id: string;
  label: string;
  argv: string[];
}

export interface StartResult {
  command: StartCommand;
  medianMs: number;
  meanMs: number;
  stddevMs: number;
  minMs: number;
  /** Mean user plus system CPU time. */
  cpuMs: number;
  runs: number;
}

interface HyperfineJson {
  results: { command: string; mean: number; stddev: number; median: number; min: number; user: number; system: number; times: number[] }[];
}

function shellWord(word: string): string {
  return /^[\w./=:+-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

export function displayCommand(argv: string[]): string {
  return argv.map(shellWord).join(" ");
}

/** hyperfine calls per measurement; each call runs every command, so a burst of other load hits all of them alike. */
const HYPERFINE_BATCHES = 5;

/**
 * Times every command with hyperfine without a shell (-N), in several calls
 * that each run every command, and merges the run times of all calls.
 */
export async function hyperfine(commands: StartCommand[], runs: number, workDir: string): Promise<StartResult[]> {
  if (commands.length === 0) return [];
  const batches = Math.min(HYPERFINE_BATCHES, runs);
  const runsPerBatch = Math.ceil(runs / batches);
  const times: number[][] = commands.map(() => []);
  const cpuTotals: number[] = commands.map(() => 0);

  for (let batch = 0; batch < batches; batch++) {
    const exportPath = join(workDir, `hyperfine-${batch}.json`);
    const argv = ["hyperfine", "-N", "--style", "basic", "--warmup", "3", "--runs", String(runsPerBatch), "--export-json", exportPath];
    for (const command of commands) {
      argv.push("--command-name", command.label, displayCommand(command.argv));
    }
    // A working directory with no .jerry folder above it, so `run` and `with`
    // find no lock directory to clean, as in a container.
    const child = Bun.spawn(argv, { cwd: workDir, stdout: "ignore", stderr: "inherit" });
    const exitCode = await child.exited;
    if (exitCode !== 0) throw new Error(`hyperfine exited with status ${exitCode}: see its output above`);

    const parsed = JSON.parse(readFileSync(exportPath, "utf8")) as HyperfineJson;
    for (const [index, result] of parsed.results.entries()) {
      times[index]?.push(...result.times);
      cpuTotals[index] = (cpuTotals[index] ?? 0) + (result.user + result.system) * result.times.length;
    }
  }

  return commands.map((command, index) => {
    const seconds = times[index] ?? [];
    const mean = seconds.reduce((sum, value) => sum + value, 0) / seconds.length;
    const variance = seconds.reduce((sum, value) => sum + (value - mean) ** 2, 0) / Math.max(seconds.length - 1, 1);
    return {
      command,
      medianMs: median(seconds) * 1000,
      meanMs: mean * 1000,
      stddevMs: Math.sqrt(variance) * 1000,
      minMs: Math.min(...seconds) * 1000,
      cpuMs: ((cpuTotals[index] ?? 0) / seconds.length) * 1000,
      runs: seconds.length,
    };
  });
}

export interface RssResult {
  label: string;
  display: string;
  /** Peak resident set of the wrapper process while its child sleeps (VmHWM), bytes. */
  peakBytes: number | null;
  /** Resident set at that moment (VmRSS), bytes. */
  currentBytes: number | null;
  error?: string;
}

function statusField(status: string, field: string): number | null {
  const match = status.match(new RegExp(`^${field}:\\s+(\\d+) kB$`, "m"));
  return match?.[1] === undefined ? null : Number(match[1]) * 1024;
}

/**
 * Starts `prefix` around a shell that prints "ready PID" and then becomes
 * `sleep`, reads the wrapper's memory from /proc while the child sleeps, and
 * kills the child.
 */
export async function measureRss(label: string, prefix: string[], cwd: string): Promise<RssResult> {
  const childArgv = ["/bin/sh", "-c", "echo ready $$; exec sleep 30"];
  const display = displayCommand([...prefix, ...childArgv]);
  let wrapper: Subprocess<"ignore", "pipe", "pipe">;
  try {
    wrapper = Bun.spawn([...prefix, ...childArgv], { cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  } catch (error) {
    return { label, display, peakBytes: null, currentBytes: null, error: `${prefix[0]} failed to start: ${(error as Error).message}` };
  }
  const timer = setTimeout(() => wrapper.kill("SIGKILL"), 10_000);

  try {
    const reader = wrapper.stdout.getReader();
    let text = "";
    while (!text.includes("\n")) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += new TextDecoder().decode(chunk.value);
    }
    const match = text.match(/^ready (\d+)/);
    if (match?.[1] === undefined) {
      const stderr = (await new Response(wrapper.stderr).text()).trim().split("\n")[0] ?? "";
      return { label, display, peakBytes: null, currentBytes: null, error: stderr || "child never printed ready" };
    }

    const status = readFileSync(`/proc/${wrapper.pid}/status`, "utf8");
    process.kill(Number(match[1]), "SIGKILL");
    await wrapper.exited;
    return { label, display, peakBytes: statusField(status, "VmHWM"), currentBytes: statusField(status, "VmRSS") };
  } finally {
    clearTimeout(timer);
    wrapper.kill("SIGKILL");
  }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
