// Command-line options of `npm run bench`, parsed apart from the measuring so
// a test can check them without running anything.
import { parseArgs } from "node:util";

export interface BenchOptions {
  quick: boolean;
  /** File counts for the cleaner rounds, ascending. */
  sizes: number[];
  /** Measured rounds per cleaner and file count (sizes up to 1000 get at least 10). */
  runs: number;
  /** hyperfine runs per start-up command. */
  startRuns: number;
  /** After this many seconds, a case that already has one sample gets no more rounds. */
  maxSeconds: number;
  jerrylock: string;
  /** Other builds measured beside `jerrylock` in the same run, for before-and-after rows; targets use `jerrylock` only. */
  variants: { label: string; path: string }[];
  /** Parent of the temporary directory for inputs and compiled helpers. */
  workDir: string;
  page: string;
  chart: string;
  /** Extra notes appended to the page (profiles, before and after). */
  notes: string;
  /** Critical sections per client in the mutual-exclusion stress tests; 0 skips them. */
  stressRounds: number;
  /** Whether to write the page and the chart; when false the page goes to stdout. */
  write: boolean;
  help: boolean;
}

export const USAGE = `Usage: bun scripts/bench.ts [OPTIONS]

Measures jerrylock clean, run and with beside find(1), a Python collector,
a C floor, tini, dumb-init and flock(1) in one run, then writes the page and
the chart.

Options:
  --quick            1k and 10k files, 3 rounds, 20 start-up runs (under 2 minutes)
  --sizes LIST       comma-separated file counts (default 1000,10000,100000)
  --runs N           rounds per cleaner and file count (default 5, quick 3)
  --start-runs N     hyperfine runs per start-up command (default 100, quick 20)
  --max-seconds N    time budget; cases with a sample get no more rounds after it
                     (default 900, quick 90)
  --jerrylock PATH   binary to measure (default dist/jerrylock)
  --variant L=PATH   also measure the build at PATH, labelled L, in the same run
                     (repeatable; for before-and-after rows)
  --work-dir DIR     where to create the temporary inputs (default /dev/shm when it
                     is a tmpfs, else the OS temp dir)
  --page FILE        page to write (default docs/BENCHMARKS.md)
  --chart FILE       SVG chart to write (default docs/benchmarks.svg)
  --notes FILE       markdown appended to the page (default bench/NOTES.md)
  --stress-rounds N  run the mutual-exclusion stress tests (tests/e2e/stress.test.ts)
                     with N critical sections per client, 0 to skip (default 500,
                     quick 0)
  --no-write         measure and print, but write neither page nor chart
  -h, --help         show this help`;

export class BenchUsageError extends Error {
  readonly code = "EUSAGE";
}

function positiveInteger(option: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^[1-9][0-9]*$/.test(value)) {
    throw new BenchUsageError(`invalid ${option} "${value}": expected a positive integer`);
  }
  return Number(value);
}

function nonNegativeInteger(option: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^(0|[1-9][0-9]*)$/.test(value)) throw new BenchUsageError(`invalid ${option} "${value}": expected 0 or a positive integer`);
  return Number(value);
}

function parseSizes(value: string | undefined, fallback: number[]): number[] {
  if (value === undefined) return fallback;
  const sizes = value.split(",").map((part) => positiveInteger("--sizes", part.trim(), 0));
  if (sizes.some((size) => size < 100)) {
    throw new BenchUsageError(`invalid --sizes "${value}": each count must be at least 100 so 1% can be held`);
  }
  return [...new Set(sizes)].sort((a, b) => a - b);
}

function parseVariant(value: string): { label: string; path: string } {
  const match = value.match(/^([\w .+-]+)=(.+)$/);
  if (match?.[1] === undefined || match[2] === undefined) {
    throw new BenchUsageError(`invalid --variant "${value}": expected LABEL=PATH, as in before=/tmp/jerrylock-old`);
  }
  return { label: match[1], path: match[2] };
}

/** Parses the arguments after `bun scripts/bench.ts`; throws BenchUsageError on bad input. */
export function parseBenchArgs(argv: string[], defaultWorkDir: string): BenchOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        quick: { type: "boolean", default: false },
        sizes: { type: "string" },
        runs: { type: "string" },
        "start-runs": { type: "string" },
        "max-seconds": { type: "string" },
        jerrylock: { type: "string", default: "dist/jerrylock" },
        variant: { type: "string", multiple: true, default: [] },
        "work-dir": { type: "string", default: defaultWorkDir },
        page: { type: "string", default: "docs/BENCHMARKS.md" },
        chart: { type: "string", default: "docs/benchmarks.svg" },
        notes: { type: "string", default: "bench/NOTES.md" },
        "stress-rounds": { type: "string" },
        "no-write": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    throw new BenchUsageError((error as Error).message);
  }
  const values = parsed.values;
  const quick = values.quick === true;

  return {
    quick,
    sizes: parseSizes(values.sizes, quick ? [1_000, 10_000] : [1_000, 10_000, 100_000]),
    runs: positiveInteger("--runs", values.runs, quick ? 3 : 5),
    startRuns: positiveInteger("--start-runs", values["start-runs"], quick ? 20 : 100),
    maxSeconds: positiveInteger("--max-seconds", values["max-seconds"], quick ? 90 : 900),
    jerrylock: values.jerrylock as string,
    variants: (values.variant as string[]).map(parseVariant),
    workDir: values["work-dir"] as string,
    page: values.page as string,
    chart: values.chart as string,
    notes: values.notes as string,
    stressRounds: nonNegativeInteger("--stress-rounds", values["stress-rounds"] as string | undefined, quick ? 0 : 500),
    write: values["no-write"] !== true,
    help: values.help === true,
  };
}
