// `jerrylock with [OPTIONS] LOCKFILE -- CMD [ARGS...]` holds a lock file
// while CMD runs, like flock(1), and removes the file on release without
// breaking mutual exclusion. src/core/acquire.ts describes the protocol.
// `withLockfile` reads top to bottom as the recipe, one function per step.
import { parseArgs } from "node:util";
import { acquireLock, holderText, LockError, type HeldLock } from "../core/acquire.ts";
import { DEFAULTS } from "../core/defaults.ts";
import { formatDuration, parseDuration } from "../core/duration.ts";
import { currentPlatform, currentProcessControl } from "../platform/index.ts";
import type { ProcessControl } from "../platform/types.ts";
import { resolveCommand, startCommand } from "../run/command.ts";
import { exitStatusOf, signalNumber } from "../run/exit-status.ts";
import { createRunLog } from "../run/log.ts";
import { commandStop, forwardToCommand } from "../run/run.ts";
import { SignalRouter } from "../run/signals.ts";
import { VERSION } from "../version.ts";
import { describeParseError, UsageError, type Command } from "./command.ts";
import { EXIT } from "./exit-codes.ts";

const PREFIX = "jerrylock with: ";

/** Descriptor number CMD finds the lock on, the first after stdin, stdout and stderr. */
export const INHERITED_LOCK_FD = 3;

const options = {
  nonblock: { type: "boolean", short: "n", default: false },
  timeout: { type: "string", short: "w" },
  "conflict-exit-code": { type: "string", short: "E" },
  help: { type: "boolean", short: "h", default: false },
} as const;

function withHelp(): string {
  return `Usage: jerrylock with [--nonblock | --timeout DURATION] [--conflict-exit-code N] LOCKFILE -- CMD [ARGS...]

Runs CMD while holding an exclusive lock on LOCKFILE, like flock(1), and
removes LOCKFILE when CMD exits, while the lock is still held.

LOCKFILE is created when missing (a symlink is never followed) and locked with
flock and an OFD lock, so flock(1), fcntl and lockf users and other jerrylock
processes all wait for it. After locking, jerrylock checks that the name still
points to the file it locked and starts over when it does not, so a waiter
never runs CMD on a file that was removed under it. The file then holds an
owner record (pid, host, boot id, pid namespace, start time, tool version).

CMD inherits the locked descriptor as fd ${INHERITED_LOCK_FD}, so the lock stays held while CMD
runs, even when jerrylock itself is killed (not on Windows, where only
jerrylock holds it). LOCKFILE is kept, unlocked, when
another process has it open (a flock(1) waiter, for example) or when CMD left
processes running that may hold fd ${INHERITED_LOCK_FD}; the next holder or 'jerrylock clean'
removes it. A file whose holder crashed has a dead owner and no lock, so the
next 'jerrylock with' takes it over at once.

Options:
  -n, --nonblock              fail at once when another process holds the lock
  -w, --timeout DURATION      fail after waiting this long; DURATION is 10 (seconds),
                              10s, 500ms or 2m (default: wait forever)
  -E, --conflict-exit-code N  exit status when the lock is held (default ${EXIT.conflict}), 0 to 255
  -h, --help                  show this help

Signals: while CMD runs, signals are forwarded as by 'jerrylock run'; SIGTERM,
or a forwarded SIGINT, is followed by SIGKILL after ${DEFAULTS.grace}, or at once on a second
one. While waiting for the lock, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and
SIGUSR2 end the wait (exit 128+N); other signals have their default effect.

Exit status:
  N      CMD exited with status N
  128+N  CMD was killed by signal N, or jerrylock by signal N while waiting
  ${EXIT.conflict}      the lock is held by another process (see --conflict-exit-code)
  ${EXIT.notFound}    CMD was not found
  ${EXIT.notExecutable}    CMD was found but could not be executed
  ${EXIT.runUsage}    jerrylock's own error: bad usage, or LOCKFILE cannot be created or locked`;
}

export interface WithOptions {
  lockfile: string;
  command: string[];
  nonblock: boolean;
  timeoutMs?: number;
  conflictExitCode: number;
}

/** Splits argv at "--", or else after LOCKFILE, the first argument that is not an option or an option's value. */
function splitAtCommand(argv: string[]): { own: string[]; command: string[] } {
  const separator = argv.indexOf("--");
  if (separator >= 0) return { own: argv.slice(0, separator), command: argv.slice(separator + 1) };

  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  const first = tokens.find((token) => token.kind === "positional");
  if (first === undefined) return { own: argv, command: [] };
  return { own: argv.slice(0, first.index + 1), command: argv.slice(first.index + 1) };
}

export function parseWithArguments(argv: string[]): WithOptions | "help" {
  const { own, command } = splitAtCommand(argv);
  let parsed;
  try {
    parsed = parseArgs({ args: own, options, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError(describeParseError(error, options));
  }
  const { values, positionals } = parsed;
  if (values.help) return "help";

  if (values.nonblock && values.timeout !== undefined) throw new UsageError("--nonblock and --timeout cannot be combined: choose one");
  let timeoutMs: number | undefined;
  if (values.timeout !== undefined) {
    const parsedTimeout = parseDuration(values.timeout);
    if (parsedTimeout === null) throw new UsageError(`invalid --timeout "${values.timeout}": give a duration such as 10 (seconds), 10s, 500ms or 2m`);
    timeoutMs = parsedTimeout;
  }

  let conflictExitCode: number = EXIT.conflict;
  const codeText = values["conflict-exit-code"];
  if (codeText !== undefined) {
    if (!/^\d{1,3}$/.test(codeText) || Number(codeText) > 255) throw new UsageError(`invalid --conflict-exit-code "${codeText}": give a whole number from 0 to 255`);
    conflictExitCode = Number(codeText);
  }

  if (positionals.length === 0) throw new UsageError("missing LOCKFILE: give it before --, as in 'jerrylock with LOCKFILE -- CMD'");
  if (positionals.length > 1) throw new UsageError(`too many arguments before --: "${positionals.join('", "')}"; give one LOCKFILE, then -- and CMD`);
  const lockfile = positionals[0] as string;
  if (lockfile === "") throw new UsageError('invalid LOCKFILE "": give a file path');
  if (command.length === 0 || command[0] === "") throw new UsageError("missing command: give it after --, as in 'jerrylock with LOCKFILE -- CMD'");

  return { lockfile, command, nonblock: values.nonblock, timeoutMs, conflictExitCode };
}

/** Runs CMD under the lock and resolves to jerrylock's exit status. */
export async function withLockfile(options: WithOptions): Promise<number> {
  const control = currentProcessControl();

  // Catch signals first: one that arrives while waiting ends the wait, one
  // that arrives while CMD runs is forwarded to it.
  const signals = new SignalRouter(control);
  try {
    // Find CMD before waiting, so a typo fails at once instead of after the wait.
    const resolved = resolveCommand(options.command[0] as string, process.env.PATH, control.os !== "windows");
    if (resolved.kind === "failed") {
      warn(resolved.message);
      return resolved.status;
    }

    // Become the parent of orphaned descendants, so processes CMD leaves
    // behind, which may still hold the inherited lock, can be seen at release.
    const canSeeDescendants = becomeSubreaper(control);

    // Wait for the lock.
    const acquired = await acquireOrExplain(options, signals);
    if (typeof acquired === "number") return acquired;
    const lock = acquired;

    // Run CMD with the locked descriptor and forward signals to it.
    const status = await runHoldingLock(lock, options.command, control, signals);

    // Remove the file while still holding the lock, unless a process CMD
    // left behind may hold it through fd 3.
    await releaseLock(lock, leftoverDescendants(control, canSeeDescendants));
    return status;
  } finally {
    signals.dispose();
  }
}

function becomeSubreaper(control: ProcessControl): boolean {
  if (!control.hasSignals) return false;
  try {
    return control.becomeSubreaper();
  } catch (error) {
    warn(`cannot register as child subreaper: ${(error as Error).message}; the lock file is then removed even if CMD left processes that hold fd ${INHERITED_LOCK_FD}`);
    return false;
  }
}

/** Acquires the lock, or prints why not and returns the exit status. */
async function acquireOrExplain(options: WithOptions, signals: SignalRouter): Promise<HeldLock | number> {
  const abort = new AbortController();
  let stoppedBy: NodeJS.Signals | undefined;
  signals.attach((caught) => {
    if (caught.signal === "SIGWINCH") return;
    stoppedBy ??= caught.signal;
    abort.abort();
  });

  try {
    return await acquireLock(
      options.lockfile,
      { wait: !options.nonblock, timeoutMs: options.timeoutMs, signal: abort.signal },
      { platform: currentPlatform(), tool: `jerrylock ${VERSION}` },
    );
  } catch (error) {
    if (!(error instanceof LockError)) throw error;
    switch (error.code) {
      case "ELOCKED":
        warn(`"${options.lockfile}" is locked${holderText(error.holder)}; not waiting because of --nonblock`);
        return options.conflictExitCode;
      case "ETIMEDOUT":
        warn(`timed out after ${formatDuration(options.timeoutMs ?? 0)} waiting for "${options.lockfile}", locked${holderText(error.holder)}`);
        return options.conflictExitCode;
      case "EABORTED":
        warn(`stopped waiting for "${options.lockfile}": received ${stoppedBy}`);
        return EXIT.signalBase + signalNumber(stoppedBy ?? "");
      default:
        warn(`${error.message}`);
        return EXIT.runUsage;
    }
  }
}

/** Runs CMD with the lock as fd 3, forwarding signals as `run` does, and resolves to its exit status. */
async function runHoldingLock(lock: HeldLock, command: string[], control: ProcessControl, signals: SignalRouter): Promise<number> {
  // A Windows HANDLE is no C runtime descriptor, so there jerrylock alone holds the lock.
  const lockDescriptor = control.os === "windows" ? [] : [lock.handle];
  const started = startCommand(command, control, lockDescriptor);
  if (started.kind === "failed") {
    warn(`${started.message}; the lock is released`);
    await lock.release();
    return started.status;
  }

  const { child } = started;
  const stop = commandStop(control, child.pid, parseDuration(DEFAULTS.grace) as number, log);
  signals.attach((caught) => forwardToCommand(caught, child.pid, stop, control, log));

  await child.exited;
  stop.cancel();
  return exitStatusOf({ exitCode: child.exitCode, signalCode: child.signalCode });
}

/** Pids of processes CMD left running, after reaping the ones that have exited. */
function leftoverDescendants(control: ProcessControl, canSeeDescendants: boolean): number[] {
  if (!canSeeDescendants) return [];
  const running: number[] = [];
  for (const pid of control.listChildren(process.pid) ?? []) {
    try {
      if (control.reapIfExited(pid) === "running") running.push(pid);
    } catch {
      running.push(pid);
    }
  }
  return running;
}

async function releaseLock(lock: HeldLock, leftovers: number[]): Promise<void> {
  const keepReason =
    leftovers.length === 0 ? undefined : `CMD left pid ${leftovers.join(", ")} running, which may hold the lock through fd ${INHERITED_LOCK_FD}`;
  let outcome;
  try {
    outcome = await lock.release(keepReason);
  } catch (error) {
    warn(`cannot remove "${lock.path}" after the command: ${(error as Error).message}; the lock is released and 'jerrylock clean' removes the file later`);
    return;
  }
  // NOTE: outcome.warning (another process opened the file during the unlink)
  // is not printed: under contention it is routine for jerrylock and library
  // clients, which re-check the inode, and only flock(1) or py-filelock
  // clients could be harmed by it.
  if (outcome.removed) return;
  // A waiter keeping the file open is routine; anything else is worth a line.
  if (outcome.cause === "requested") warn(`kept "${lock.path}": ${keepReason}; the next holder or 'jerrylock clean' removes it once they exit`);
  else if (outcome.cause !== "open") warn(`kept "${lock.path}": ${outcome.reason}`);
}

/** jerrylock's messages about CMD's supervision; `with` has no -v, so only warnings print. */
const log = createRunLog(false, undefined, PREFIX);

function warn(message: string): void {
  log.warn(message);
}

export const withCommand: Command = {
  name: "with",
  summary: "run a command while holding a lock file, then remove it",
  help: withHelp,
  run: async (argv) => {
    const parsed = parseWithArguments(argv);
    if (parsed === "help") {
      process.stdout.write(`${withHelp()}\n`);
      return EXIT.ok;
    }
    return withLockfile(parsed);
  },
};
