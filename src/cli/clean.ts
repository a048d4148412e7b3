// `jerrylock clean` and `jerrylock ls`: the same verdicts, with and without removal.
import { parseArgs } from "node:util";
import { cleanDirectories, DirectoryError, type CleanReport } from "../core/clean.ts";
import { DEFAULTS } from "../core/defaults.ts";
import { parseDuration } from "../core/duration.ts";
import { VERDICT_HELP, VERDICTS } from "../core/verdicts.ts";
import { currentPlatform } from "../platform/index.ts";
import { VERSION } from "../version.ts";
import { describeParseError, UsageError, type Command } from "./command.ts";
import { EXIT } from "./exit-codes.ts";
import { checkExplicitDir, lockTargets, resolveLockDirs } from "./lock-dirs.ts";
import { createProgress, formatDecision, formatSummary, formatTable, LS_COLUMNS, useColour } from "./output.ts";

const sharedOptions = {
  pattern: { type: "string", default: DEFAULTS.pattern },
  recursive: { type: "boolean", short: "r", default: false },
  "max-age": { type: "string", default: DEFAULTS.maxAge },
  timeout: { type: "string" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

const cleanOptions = {
  ...sharedOptions,
  "dry-run": { type: "boolean", short: "n", default: false },
  strict: { type: "boolean", default: false },
  verbose: { type: "boolean", short: "v", default: false },
  quiet: { type: "boolean", short: "q", default: false },
} as const;

const verdictLines = VERDICTS.map((verdict) => `  ${verdict.padEnd(11)}  ${VERDICT_HELP[verdict]}`).join("\n");

const directoryHelp = `DIR defaults to ${DEFAULTS.lockDirBelowRoot} in the nearest ancestor of the working
directory that has a ${DEFAULTS.rootMarker} folder; ${DEFAULTS.dirEnvironmentVariable} overrides that default.`;

const sharedOptionHelp = `  --pattern GLOB      names to consider, matched against the file name (default "${DEFAULTS.pattern}")
  -r, --recursive     also look in subdirectories (never through a symlink)
  --max-age DURATION  files with no owner record younger than this are fresh (default ${DEFAULTS.maxAge});
                      DURATION is 300 (seconds), 300s, 5m or 1h
  --timeout DURATION  stop checking after this long; files not reached are kept
  --json              print one JSON document on stdout instead of text`;

function cleanHelp(): string {
  return `Usage: jerrylock clean [OPTIONS] [DIR...]

Removes the lock files in DIR whose owners are gone (verdicts stale and orphan)
and keeps every other file, each with a one-line reason.

${directoryHelp}

Options:
${sharedOptionHelp}
  -n, --dry-run       decide, but remove nothing and take no lock
  -v, --verbose       list every decision on stderr
  -q, --quiet         print only errors
  --strict            exit 1 when anything went wrong (errors, files not checked)
  -h, --help          show this help

Verdicts, tried in this order; the first that fits wins:
${verdictLines}

A file is removed only while jerrylock holds its flock and an OFD write lock,
after checking that the name still points to the same inode and that no other
process has it open.

Exit status:
  ${EXIT.ok}  done, also when files were kept or not reached (unless --strict)
  ${EXIT.failed}  a removal failed, or --strict and anything went wrong
  ${EXIT.usage}  usage error, or an explicit DIR is missing or not a directory`;
}

function lsHelp(): string {
  return `Usage: jerrylock ls [OPTIONS] [DIR...]

Lists the lock files in DIR with the verdict clean would reach, as a table on
stdout. Takes no lock and removes nothing.

${directoryHelp}

Options:
${sharedOptionHelp}
  -h, --help          show this help

Columns:
${LS_COLUMNS.map((column) => `  ${column.header.padEnd(8)} ${column.help}`).join("\n")}

Verdicts:
${verdictLines}

Exit status:
  ${EXIT.ok}  listed
  ${EXIT.usage}  usage error, or an explicit DIR is missing or not a directory`;
}

type Mode = "clean" | "ls";

interface ParsedRun {
  dirs: string[];
  pattern: string;
  recursive: boolean;
  maxAgeMs: number;
  timeoutMs?: number;
  json: boolean;
  dryRun: boolean;
  strict: boolean;
  verbose: boolean;
  quiet: boolean;
}

function parse(mode: Mode, argv: string[]): ParsedRun {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: mode === "clean" ? cleanOptions : sharedOptions, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(describeParseError(error, mode === "clean" ? cleanOptions : sharedOptions));
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;

  const duration = (option: string): number | undefined => {
    const text = values[option];
    if (typeof text !== "string") return undefined;
    const value = parseDuration(text);
    if (value === null) throw new UsageError(`invalid --${option} "${text}": use a number of seconds or a value such as 300s, 5m or 1h`);
    return value;
  };
  if (values.quiet === true && values.verbose === true) throw new UsageError("--quiet and --verbose cannot be combined");
  if (typeof values.pattern === "string" && values.pattern === "") throw new UsageError("invalid --pattern \"\": give a glob such as \"*.lock\"");

  return {
    dirs: parsed.positionals,
    pattern: values.pattern as string,
    recursive: values.recursive === true,
    maxAgeMs: duration("max-age")!,
    timeoutMs: duration("timeout"),
    json: values.json === true,
    dryRun: values["dry-run"] === true,
    strict: values.strict === true,
    verbose: values.verbose === true,
    quiet: values.quiet === true,
  };
}

async function execute(mode: Mode, argv: string[]): Promise<number> {
  const options = parse(mode, argv);
  const prefix = `jerrylock ${mode}`;

  const lockDirs = resolveLockDirs([...new Set(options.dirs)], process.cwd(), process.env);
  if (lockDirs.dirs.length === 0) {
    if (!options.quiet) process.stderr.write(`${prefix}: ${lockDirs.message}\n`);
    if (options.json) process.stdout.write(`${JSON.stringify(emptyReport())}\n`);
    return EXIT.ok;
  }
  if (lockDirs.source !== "discovered") {
    for (const dir of lockDirs.dirs) {
      const problem = checkExplicitDir(dir);
      if (problem === null) continue;
      if (lockDirs.source === "explicit") {
        process.stderr.write(`${prefix}: ${problem}\n`);
        return EXIT.usage;
      }
      // JERRYLOCK_DIR is configuration that a session hook inherits, like the
      // discovered default, so a missing directory means nothing to do.
      if (!options.quiet) process.stderr.write(`${prefix}: ${problem} (from ${DEFAULTS.dirEnvironmentVariable}); nothing to do\n`);
      if (options.json) process.stdout.write(`${JSON.stringify(emptyReport())}\n`);
      return options.strict ? EXIT.failed : EXIT.ok;
    }
  }

  const platform = currentPlatform();
  const startedAt = platform.now();
  const progress = options.json || options.quiet ? { update: () => {}, clear: () => {} } : createProgress(process.stderr, startedAt);

  let report: CleanReport;
  try {
    report = cleanDirectories(platform, lockTargets(lockDirs), {
      remove: mode === "clean",
      dryRun: options.dryRun,
      maxAgeMs: options.maxAgeMs,
      pattern: options.pattern,
      recursive: options.recursive,
      deadlineMs: options.timeoutMs === undefined ? undefined : startedAt + options.timeoutMs,
      onProgress: progress.update,
    });
  } catch (error) {
    progress.clear();
    if (error instanceof DirectoryError) {
      const hint = error.code === "ELOOP" || error.code === "ENOTDIR" ? "" : "; check its permissions or run as its owner";
      process.stderr.write(`${prefix}: ${error.message}${hint}\n`);
      return EXIT.usage;
    }
    throw error;
  }
  progress.clear();

  if (options.json) process.stdout.write(`${JSON.stringify({ version: VERSION, ...report }, null, 2)}\n`);
  else if (mode === "ls") writeListing(report);
  if (mode === "clean" && !options.json) writeCleanText(report, options);

  return exitStatus(mode, report, options);
}

function writeListing(report: CleanReport): void {
  if (report.locks.length > 0) process.stdout.write(`${formatTable(report.locks, useColour(process.stdout))}\n`);
  process.stderr.write(`jerrylock ls: ${formatSummary(report, "listed")}\n`);
}

function writeCleanText(report: CleanReport, options: ParsedRun): void {
  // Bun builds process.stderr on first access, which cost about 8 ms of CPU
  // time per run (Bun 1.4.5), so a quiet clean with nothing to say never
  // touches it.
  let colour: boolean | undefined;
  for (const lock of report.locks) {
    const problem = lock.verdict === "error" || lock.warning !== undefined;
    if (!options.verbose && !problem) continue;
    colour ??= useColour(process.stderr);
    process.stderr.write(`jerrylock clean: ${formatDecision(lock, colour, options.dryRun)}\n`);
  }
  if (!options.quiet) {
    process.stderr.write(`jerrylock clean: ${formatSummary(report, options.dryRun ? "would remove" : "removed")}\n`);
  }
}

function exitStatus(mode: Mode, report: CleanReport, options: ParsedRun): number {
  if (mode === "ls") return EXIT.ok;
  if (report.summary.failed_removals > 0) return EXIT.failed;
  const anythingWrong = report.summary.errors > 0 || report.summary.not_checked > 0 || report.locks.some((lock) => lock.warning !== undefined);
  return options.strict && anythingWrong ? EXIT.failed : EXIT.ok;
}

function emptyReport(): CleanReport & { version: string } {
  return {
    version: VERSION,
    directories: [],
    locks: [],
    summary: { scanned: 0, removed: 0, kept: 0, errors: 0, failed_removals: 0, not_checked: 0, duration_ms: 0, by_verdict: {} },
  };
}

export const cleanCommand: Command = {
  name: "clean",
  summary: "remove lock files whose owners are gone",
  help: cleanHelp,
  run: (argv) => execute("clean", argv),
};

export const lsCommand: Command = {
  name: "ls",
  summary: "list lock files with the verdict clean would reach",
  help: lsHelp,
  run: (argv) => execute("ls", argv),
};
