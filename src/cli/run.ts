// `jerrylock run [OPTIONS] -- CMD [ARGS...]`: parses the options and hands
// over to the wrapper in src/run.
import { parseArgs } from "node:util";
import { DEFAULTS } from "../core/defaults.ts";
import { parseDuration } from "../core/duration.ts";
import { currentProcessControl } from "../platform/index.ts";
import { run, type RunOptions } from "../run/run.ts";
import { describeParseError, UsageError, type Command } from "./command.ts";
import { EXIT } from "./exit-codes.ts";

const options = {
  "lock-dir": { type: "string", multiple: true, default: [] as string[] },
  "no-gc": { type: "boolean", default: false },
  grace: { type: "string", default: DEFAULTS.grace },
  verbose: { type: "boolean", short: "v", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

function runHelp(): string {
  return `Usage: jerrylock run [OPTIONS] -- CMD [ARGS...]

Runs CMD with the same stdin, stdout, stderr and environment, forwards signals
to it, reaps orphaned processes (as PID 1, or as child subreaper on Linux) and,
once CMD and the processes it left are gone, removes the lock files the run
left behind. Use it in front of a command, or as a container entry point,
with --grace below the runtime's stop timeout (Docker's is 10s):
  ENTRYPOINT ["jerrylock", "run", "--grace", "5s", "--"]

Before CMD starts, one pass removes stale locks under the rules of
'jerrylock clean', within ${DEFAULTS.runGcTimeout}; a failure there is logged and CMD starts anyway.
After the run, files in the lock directories that were written during the run,
or whose owner record names a process of the run, are removed when no process
holds or has them open; a lock held by another process is kept.

The lock directory defaults to ${DEFAULTS.lockDirBelowRoot} in the nearest ancestor of the
working directory that has a ${DEFAULTS.rootMarker} folder; ${DEFAULTS.dirEnvironmentVariable} overrides that default.

Options:
  --lock-dir DIR      clean this directory (repeat for more); it must exist and be readable
  --no-gc             skip the pass before CMD starts
  --grace DURATION    time CMD, and the processes it left, get between SIGTERM
                      and SIGKILL (default ${DEFAULTS.grace}); DURATION is 10 (seconds), 10s, 2m or 1h
  -v, --verbose       report signals, reaped orphans and removed locks on stderr
  -h, --help          show this help

Signals: SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH go to
CMD. When jerrylock runs in the foreground of a terminal, the terminal already
sends Ctrl-C (SIGINT), Ctrl-\\ (SIGQUIT) and SIGWINCH to CMD, so jerrylock does
not send them again. SIGTERM, or a forwarded SIGINT, stops CMD: SIGKILL follows
after --grace, or at once on a second SIGTERM or SIGINT. On Windows nothing is
forwarded: the console sends Ctrl-C to CMD itself.

Exit status:
  N      CMD exited with status N (on Windows, the full 32-bit code)
  128+N  CMD was killed by signal N (137 SIGKILL, 139 SIGSEGV, 143 SIGTERM)
  ${EXIT.notFound}    CMD was not found
  ${EXIT.notExecutable}    CMD was found but could not be executed
  ${EXIT.runUsage}    jerrylock's own error before CMD started (bad usage, unreadable --lock-dir)

If jerrylock itself is killed with SIGKILL it cannot clean up; the next run or
'jerrylock clean' removes those locks, because their owners are then gone.`;
}

/** Splits argv at "--", or else at the first argument that is not an option or an option's value. */
function splitAtCommand(argv: string[]): { own: string[]; command: string[] } {
  // A "--" after CMD belongs to CMD's arguments, as in "run echo a -- b".
  const separator = argv.indexOf("--");
  const head = separator >= 0 ? argv.slice(0, separator) : argv;
  const { tokens } = parseArgs({ args: head, options, strict: false, allowPositionals: true, tokens: true });
  const first = tokens.find((token) => token.kind === "positional");
  if (first !== undefined) return { own: argv.slice(0, first.index), command: argv.slice(first.index) };
  if (separator >= 0) return { own: head, command: argv.slice(separator + 1) };
  return { own: argv, command: [] };
}

export function parseRunArguments(argv: string[]): RunOptions | "help" {
  const { own, command } = splitAtCommand(argv);
  let values: { "lock-dir": string[]; "no-gc": boolean; grace: string; verbose: boolean; help: boolean };
  try {
    ({ values } = parseArgs({ args: own, options, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new UsageError(describeParseError(error, options));
  }
  if (values.help) return "help";

  const graceMs = parseDuration(values.grace);
  if (graceMs === null) {
    throw new UsageError(`invalid --grace "${values.grace}": give a duration such as 10 (seconds), 10s, 500ms or 2m`);
  }
  if (command.length === 0 || command[0] === "") throw new UsageError("missing command: give it after --, as in 'jerrylock run -- CMD'");
  for (const dir of values["lock-dir"]) {
    if (dir === "") throw new UsageError('invalid --lock-dir "": give a directory path');
  }

  return {
    command,
    lockDirs: values["lock-dir"],
    gc: !values["no-gc"],
    graceMs,
    gcTimeoutMs: parseDuration(DEFAULTS.runGcTimeout) as number,
    verbose: values.verbose,
  };
}

export const runCommand: Command = {
  name: "run",
  summary: "run a command, forward signals, reap orphans, clean its locks",
  help: runHelp,
  run: async (argv) => {
    const parsed = parseRunArguments(argv);
    if (parsed === "help") {
      process.stdout.write(`${runHelp()}\n`);
      return EXIT.ok;
    }

    const status = await run(parsed);
    // Only Windows codes exceed 255, and Bun narrows process.exitCode to 8 bits.
    if (status > 255) currentProcessControl().exit(status);
    return status;
  },
};
