// Renders the measurements as docs/BENCHMARKS.md and an SVG chart of time
// against file count for the cleaners.
import { HOLD_KINDS, THRESHOLD_MINUTES, type HoldKind } from "./inputs.ts";
import { type Cleaner, type CleanerResult, displayCommand, median, type RssResult, type StartResult } from "./measure.ts";

export interface Unavailable {
  label: string;
  reason: string;
}

export interface StressResult {
  rounds: number;
  passed: number;
  failed: number;
  seconds: number;
  command: string;
}

export interface BenchReport {
  quick: boolean;
  commandLine: string;
  startedAt: Date;
  durationSeconds: number;
  machine: [string, string][];
  /** 1-minute load average when the run started and when it ended; other load makes wall times noisy. */
  load: [number, number];
  versions: [string, string][];
  cleaners: Cleaner[];
  cleanerResults: CleanerResult[];
  startResults: StartResult[];
  rss: RssResult[];
  unavailable: Unavailable[];
  runsNote: string;
  chartFile: string;
  notes: string | null;
  /** Result of the mutual-exclusion stress tests at full size; null when skipped. */
  stress: StressResult | null;
  /** Replaces temporary and repository paths in command lines with short names. */
  shorten(text: string): string;
}

const MB = 1024 * 1024;

function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return "n/a";
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  return ms.toFixed(2);
}

function formatRatio(ratio: number): string {
  return Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : "n/a";
}

function table(header: string[], rows: string[][]): string {
  const lines = [`| ${header.join(" | ")} |`, `|${header.map((_, index) => (index === 0 ? "---" : "---:")).join("|")}|`];
  for (const row of rows) lines.push(`| ${row.join(" | ")} |`);
  return lines.join("\n");
}

/** Median wall time in ms of one cleaner at one size (CPU time with `cpu`), NaN when not measured. */
export function cleanerMedian(results: CleanerResult[], id: string, size: number, cpu = false): number {
  const result = results.find((candidate) => candidate.cleaner.id === id && candidate.size === size);
  if (result === undefined || result.samples.length === 0) return Number.NaN;
  return median(result.samples.map((sample) => (cpu ? sample.cpuMs : sample.ms)));
}

function startMedian(results: StartResult[], id: string): number {
  return results.find((result) => result.command.id === id)?.medianMs ?? Number.NaN;
}

export function sizesOf(results: CleanerResult[]): number[] {
  return [...new Set(results.map((result) => result.size))].sort((a, b) => a - b);
}

export function formatCount(size: number): string {
  return size >= 1000 && size % 1000 === 0 ? `${size / 1000}k` : String(size);
}

interface TargetRow {
  target: string;
  measured: string;
  /** The same ratio for the floor: the C floor for clean, the Bun no-op spawning /bin/true for run and with. */
  floor: string;
  met: boolean | null;
}

function verdict(met: boolean | null): string {
  if (met === null) return "not measured";
  return met ? "met" : "**missed**";
}

function targetRows(report: BenchReport): TargetRow[] {
  const results = report.cleanerResults;
  const sizes = sizesOf(results);
  const largest = sizes.at(-1) ?? 0;
  const previous = sizes.at(-2) ?? 0;
  const at = formatCount(largest);

  const clean = cleanerMedian(results, "jerrylock", largest);
  const find = cleanerMedian(results, "find", largest);
  const floor = cleanerMedian(results, "floor", largest);
  const python = cleanerMedian(results, "python", largest);
  const perFileLargest = clean / largest;
  const perFilePrevious = cleanerMedian(results, "jerrylock", previous) / previous;
  const floorGrowth = floor / largest / (cleanerMedian(results, "floor", previous) / previous);
  const known = (value: number): boolean | null => (Number.isFinite(value) ? true : null);
  const check = (value: number, ok: (value: number) => boolean): boolean | null => (known(value) === null ? null : ok(value));

  const tini = startMedian(report.startResults, "tini");
  const flock = startMedian(report.startResults, "flock");
  const bunFloor = startMedian(report.startResults, "noop-spawn");
  const run = startMedian(report.startResults, "run") / tini;
  const withRatio = startMedian(report.startResults, "with") / flock;
  const rssOf = (label: string): number => report.rss.find((row) => row.label === label)?.peakBytes ?? Number.NaN;
  const runRss = rssOf("jerrylock run");
  const megabytes = (bytes: number): string => (Number.isFinite(bytes) ? `${(bytes / MB).toFixed(1)} MB` : "n/a");

  return [
    {
      target: `clean at ${at} files within 2.0x of find -delete`,
      measured: formatRatio(clean / find),
      floor: formatRatio(floor / find),
      met: check(clean / find, (value) => value <= 2.0),
    },
    {
      target: `clean at ${at} files within about 1.15x of the C floor`,
      measured: formatRatio(clean / floor),
      floor: formatRatio(1),
      met: check(clean / floor, (value) => value <= 1.15),
    },
    {
      target: `clean at ${at} files no slower than the Python reference`,
      measured: formatRatio(clean / python),
      floor: formatRatio(floor / python),
      met: check(clean / python, (value) => value <= 1.0),
    },
    {
      target: `clean time per file at ${at} within 10% of that at ${formatCount(previous)}`,
      measured: formatRatio(perFileLargest / perFilePrevious),
      floor: formatRatio(floorGrowth),
      met: check(perFileLargest / perFilePrevious, (value) => value <= 1.1),
    },
    {
      target: "run -- /bin/true within 3.0x of tini -s -- /bin/true",
      measured: formatRatio(run),
      floor: formatRatio(bunFloor / tini),
      met: check(run, (value) => value <= 3.0),
    },
    {
      target: "with L -- /bin/true within 3.0x of flock L /bin/true",
      measured: formatRatio(withRatio),
      floor: formatRatio(bunFloor / flock),
      met: check(withRatio, (value) => value <= 3.0),
    },
    {
      target: "run max RSS under 30 MB while its child sleeps",
      measured: megabytes(runRss),
      floor: megabytes(rssOf("bun no-op awaiting its child")),
      met: check(runRss, (value) => value < 30 * MB),
    },
  ];
}

function cleanerTables(report: BenchReport): string {
  const results = report.cleanerResults;
  const sections: string[] = [];
  for (const size of sizesOf(results)) {
    const find = cleanerMedian(results, "find", size);
    const floor = cleanerMedian(results, "floor", size);
    const python = cleanerMedian(results, "python", size);
    const floorCpu = cleanerMedian(results, "floor", size, true);
    const rows: string[][] = [];
    for (const cleaner of report.cleaners) {
      const result = results.find((candidate) => candidate.cleaner.id === cleaner.id && candidate.size === size);
      if (result === undefined || result.samples.length === 0) continue;
      const ms = median(result.samples.map((sample) => sample.ms));
      const cpuMs = median(result.samples.map((sample) => sample.cpuMs));
      const rss = result.maxRssBytes;
      rows.push([
        cleaner.label,
        formatMs(ms),
        ((ms * 1000) / size).toFixed(2),
        formatRatio(ms / find),
        formatRatio(ms / floor),
        formatRatio(ms / python),
        formatMs(cpuMs),
        formatRatio(cpuMs / floorCpu),
        rss === null ? "n/a" : (rss / MB).toFixed(1),
        String(result.samples.length),
      ]);
    }
    sections.push(`### ${formatCount(size)} files (${Math.ceil(size / 100)} held)\n\n${table(
      ["cleaner", "median ms", "µs per file", "vs find", "vs C floor", "vs Python", "CPU ms", "CPU vs C floor", "max RSS MB", "rounds"],
      rows,
    )}`);
  }
  return sections.join("\n\n");
}

function scalingTable(report: BenchReport): string {
  const sizes = sizesOf(report.cleanerResults);
  const rows = report.cleaners.map((cleaner) => {
    const perFile = sizes.map((size) => (cleanerMedian(report.cleanerResults, cleaner.id, size) * 1000) / size);
    const last = perFile.at(-1) ?? Number.NaN;
    const previous = perFile.at(-2) ?? Number.NaN;
    return [cleaner.label, ...perFile.map((value) => (Number.isFinite(value) ? value.toFixed(2) : "n/a")), formatRatio(last / previous)];
  });
  const header = ["cleaner", ...sizes.map((size) => `µs/file at ${formatCount(size)}`)];
  header.push(sizes.length >= 2 ? `${formatCount(sizes.at(-1) as number)} vs ${formatCount(sizes.at(-2) as number)}` : "growth");
  return table(header, rows);
}

function safetyTable(report: BenchReport): string {
  const rows = report.cleaners.flatMap((cleaner) => {
    const results = report.cleanerResults.filter((result) => result.cleaner.id === cleaner.id);
    const samples = results.flatMap((result) => result.samples);
    if (samples.length === 0) return [];
    const held = samples.reduce((sum, sample) => sum + sample.held, 0);
    const kept = samples.reduce((sum, sample) => sum + sample.check.heldKept, 0);
    const stale = samples.reduce((sum, sample) => sum + sample.check.staleLeft, 0);
    const removedByKind = HOLD_KINDS.map((kind: HoldKind) =>
      String(samples.reduce((sum, sample) => sum + (sample.check.heldRemoved[kind] ?? 0), 0)),
    );
    const safe = kept === held ? "yes" : "**no**";
    return [[cleaner.label, safe, `${kept} of ${held}`, ...removedByKind, String(stale)]];
  });
  return table(
    ["cleaner", "safe", "held files kept", ...HOLD_KINDS.map((kind) => `${kind}-held removed`), "stale files left"],
    rows,
  );
}

function startTable(report: BenchReport): string {
  const baseline = startMedian(report.startResults, "true");
  const references: Record<string, string> = { run: "tini", with: "flock" };
  const rows = report.startResults.map((result) => {
    const reference = references[result.command.id.replace(/-\d+$/, "")];
    const versus = reference === undefined ? "" : `${formatRatio(result.medianMs / startMedian(report.startResults, reference))} of ${reference}`;
    return [
      `\`${result.command.label}\``,
      formatMs(result.medianMs),
      `${formatMs(result.meanMs)} ± ${formatMs(result.stddevMs)}`,
      formatMs(result.minMs),
      formatRatio(result.medianMs / baseline),
      versus,
      formatMs(result.cpuMs),
    ];
  });
  return table(["command", "median ms", "mean ± sd ms", "min ms", "vs /bin/true", "ratio", "CPU ms (mean)"], rows);
}

function rssTable(report: BenchReport): string {
  const rows = report.rss.map((row) => [
    row.label,
    row.peakBytes === null ? `n/a (${row.error ?? "not read"})` : (row.peakBytes / MB).toFixed(1),
    row.currentBytes === null ? "n/a" : (row.currentBytes / MB).toFixed(1),
  ]);
  return table(["wrapper (child: sh, then sleep)", "peak RSS MB (VmHWM)", "RSS MB (VmRSS)"], rows);
}

function renderStress(stress: StressResult | null): string {
  if (stress === null) return "";
  const verdictText = stress.failed === 0 && stress.passed > 0 ? "every test passed: exact counters, no breach" : `**${stress.failed} failed**`;
  return `
## Mutual exclusion at full size

\`${stress.command}\`: 8 clients of ${stress.rounds} critical sections each, for each
kind of client in \`tests/e2e/stress.test.ts\` (jerrylock with, the library, both
together, py-filelock), while \`jerrylock clean\` loops on the lock directory.
${stress.passed} passed, ${stress.failed} failed in ${Math.round(stress.seconds)} s: ${verdictText}.
`;
}

export function renderPage(report: BenchReport): string {
  const unavailable =
    report.unavailable.length === 0
      ? ""
      : `\n**Not available in this run:**\n\n${report.unavailable.map((row) => `- ${row.label}: ${row.reason}`).join("\n")}\n`;
  const commands = report.cleaners.map((cleaner) => `- ${cleaner.label}: \`${cleaner.display}\``).join("\n");
  const startCommands = report.startResults.map((result) => `- \`${report.shorten(displayCommand(result.command.argv))}\``).join("\n");
  const rssCommands = report.rss.map((row) => `- \`${report.shorten(row.display)}\``).join("\n");
  const targets = targetRows(report).map((row) => [row.target, row.measured, row.floor, verdict(row.met)]);

  return `# Benchmarks

jerrylock's \`clean\` runs at every session start and \`run\` starts every
container, so both must cost almost nothing. This page compares them with the
tools users already have, measured in one run on one machine, so the ratios
carry over to other machines better than the absolute times do.

${report.quick ? "This is a **quick run** (`--quick`): fewer sizes and rounds, so the ratios are rougher than a full run's.\n\n" : ""}Written by \`${report.commandLine}\` on ${report.startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC in ${Math.round(report.durationSeconds)} s.
${unavailable}
## Machine

${table(["", ""], [...report.machine, ["load average (1 min) at start and end", `${report.load[0].toFixed(2)}, ${report.load[1].toFixed(2)}`]])}

${table(["tool", "version"], report.versions)}

## Targets

Each target is a ratio between commands measured in this run. The floor
column gives the same ratio for the least any implementation of the same
approach costs: the C floor in place of \`clean\`, and a Bun-compiled
executable that only spawns \`/bin/true\` in place of \`run\` and \`with\`.
${report.notes === null ? "" : "What dominates jerrylock's time, the fixes applied and those still open are at the end of this page.\n"}
${table(["target", "jerrylock", "floor", "verdict"], targets)}

## Cleaning stale lock files

Each round fills a directory with new empty \`*.lock\` files with an mtime an
hour old, past the ${THRESHOLD_MINUTES}-minute threshold of every cleaner. The
directory is on the filesystem named under Machine: a tmpfs by default, so
the disk's own noise stays out of the ratios (\`--work-dir\` picks another).
Every 100th file (1%) is held by one of two long-lived Python processes
(\`bench/holder.py\`), by kind in turn: \`flock(2)\`, POSIX \`lockf\`, an OFD
lock, or open with no lock (as a process blocked in \`lockf\` has it). The
holders lock their files before the clock starts. The time is the wall time
from spawn to exit of the cleaner, median over rounds, ${report.runsNote}.
CPU time (user plus system of the cleaner process) is shown beside it because
other load on the machine inflates wall times more than CPU times.
Creating the files and checking the result are outside the timed region. The
cleaners take turns within each round, so they see the same state of the
machine.

${commands}

${cleanerTables(report)}

### Time per file as the directory grows

${scalingTable(report)}

![Time against file count for each cleaner](${report.chartFile})

### Safety check

After each round the bench checks that every held file still has the name and
inode it had while held. A cleaner that removes a held file breaks the mutual
exclusion of the process holding it. \`find -delete\` removes them all. The
Python reference uses \`lockf\` only, so it cannot see \`flock\` holders or a
process that only has the file open. The C floor without the lease removes
the files that a process only has open, as a client blocked in \`lockf\` has
them.

${safetyTable(report)}

## Starting a command

Measured with hyperfine, no shell (\`-N\`), in 5 calls that each run every
command (3 warm-up runs each), so a burst of other load on the machine hits
all commands alike; the statistics merge the runs of all calls. The Bun-compiled
no-op (\`bench/noop.ts\`) is the floor of any Bun executable; with a command
it spawns the command and awaits it, the floor of a Bun-built wrapper.

${startCommands}

${startTable(report)}

## Memory while the child runs

Each wrapper starts \`sh\`, which prints its pid and becomes \`sleep\`; the
bench then reads the wrapper's \`/proc/PID/status\`.

${rssCommands}

${rssTable(report)}
${renderStress(report.stress)}${report.notes === null ? "" : `\n${report.notes.trim()}\n`}`;
}

const COLORS: Record<string, string> = {
  find: "#888888",
  python: "#3572a5",
  floor: "#2a9d48",
  "floor-nolease": "#8fd19e",
  "floor-direct": "#1b6e35",
  jerrylock: "#d1495b",
  "jerrylock-1": "#edae49",
  "jerrylock-2": "#7b2cbf",
};

/** Log-log chart of median time against file count, one line per cleaner. */
export function renderChart(report: BenchReport): string {
  const width = 720;
  const height = 440;
  const left = 70;
  const right = 190;
  const top = 30;
  const bottom = 50;
  const sizes = sizesOf(report.cleanerResults);
  const points = report.cleanerResults.flatMap((result) =>
    result.samples.length === 0 ? [] : [median(result.samples.map((sample) => sample.ms))],
  );
  if (sizes.length === 0 || points.length === 0) {
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="60"><text x="10" y="30">No cleaner was measured</text></svg>\n`;
  }

  const xMin = Math.log10(sizes[0] as number) - 0.15;
  const xMax = Math.log10(sizes.at(-1) as number) + 0.15;
  const yMin = Math.floor(Math.log10(Math.min(...points)));
  const yMax = Math.ceil(Math.log10(Math.max(...points)));
  const x = (size: number): number => left + ((Math.log10(size) - xMin) / (xMax - xMin)) * (width - left - right);
  const y = (ms: number): number => top + (1 - (Math.log10(ms) - yMin) / Math.max(yMax - yMin, 1)) * (height - top - bottom);

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${left}" y="18" font-size="14">Median time to clean a directory (log-log; lower is better)</text>`,
  ];
  for (let power = yMin; power <= yMax; power++) {
    const value = 10 ** power;
    const label = value >= 1000 ? `${value / 1000} s` : `${value} ms`;
    parts.push(`<line x1="${left}" x2="${width - right}" y1="${y(value)}" y2="${y(value)}" stroke="#dddddd"/>`);
    parts.push(`<text x="${left - 8}" y="${y(value) + 4}" text-anchor="end">${label}</text>`);
  }
  for (const size of sizes) {
    parts.push(`<line x1="${x(size)}" x2="${x(size)}" y1="${top}" y2="${height - bottom}" stroke="#eeeeee"/>`);
    parts.push(`<text x="${x(size)}" y="${height - bottom + 18}" text-anchor="middle">${formatCount(size)}</text>`);
  }
  parts.push(`<text x="${(left + width - right) / 2}" y="${height - 12}" text-anchor="middle">lock files in the directory (1% held)</text>`);

  let legendY = top + 10;
  for (const cleaner of report.cleaners) {
    const series = sizes
      .map((size) => [size, cleanerMedian(report.cleanerResults, cleaner.id, size)] as const)
      .filter(([, ms]) => Number.isFinite(ms));
    if (series.length === 0) continue;
    const color = COLORS[cleaner.id] ?? "#000000";
    const path = series.map(([size, ms]) => `${x(size).toFixed(1)},${y(ms).toFixed(1)}`).join(" ");
    parts.push(`<polyline points="${path}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const [size, ms] of series) {
      parts.push(`<circle cx="${x(size).toFixed(1)}" cy="${y(ms).toFixed(1)}" r="3.5" fill="${color}"><title>${cleaner.label}: ${formatMs(ms)} ms at ${formatCount(size)}</title></circle>`);
    }
    parts.push(`<line x1="${width - right + 15}" x2="${width - right + 35}" y1="${legendY}" y2="${legendY}" stroke="${color}" stroke-width="3"/>`);
    parts.push(`<text x="${width - right + 40}" y="${legendY + 4}">${cleaner.label}</text>`);
    legendY += 20;
  }
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
