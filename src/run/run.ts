// `jerrylock run -- CMD`: starts the command, forwards signals to it, reaps
// orphans as PID 1 or child subreaper, and removes the locks the run left
// behind. `run` reads top to bottom as the recipe; each step is one function.
import { formatDuration } from "../core/duration.ts";
import { currentPlatform, currentProcessControl } from "../platform/index.ts";
import type { Platform, ProcessControl } from "../platform/types.ts";
import { EXIT } from "../cli/exit-codes.ts";
import { startCommand } from "./command.ts";
import { exitStatusOf } from "./exit-status.ts";
import { chooseLockDirs, cleanAfterRun, collectGarbageBeforeStart } from "./gc.ts";
import { createRunLog, type RunLog } from "./log.ts";
import { Reaper } from "./reaper.ts";
import { POSIX_SIGNAL_POLICY, STOP_SIGNALS } from "./signal-policy.ts";
import { GracefulStop, SignalRouter, type CaughtSignal } from "./signals.ts";

export interface RunOptions {
  command: string[];
  /** Directories given with --lock-dir; empty means the default discovery of `clean`. */
  lockDirs: string[];
  gc: boolean;
  graceMs: number;
  /** Bound on the start-up pass. */
  gcTimeoutMs: number;
  verbose: boolean;
}

export interface RunDependencies {
  control: ProcessControl;
  /** Created only when a pass runs, so a broken lock probe cannot stop the command. */
  platform: () => Platform;
  log: RunLog;
}

/**
 * Linux stamps files from a clock that lags real time by up to one timer
 * tick (at most 10 ms), so a file the command writes right after the start
 * can carry an earlier mtime. The run's window opens this much earlier.
 */
const MTIME_LAG_MARGIN_MS = 100;

/** Interval between checks for descendants that are not jerrylock's children and so send no SIGCHLD. */
const DESCENDANT_POLL_MS = 100;

/** Target of a caught signal: the command while it runs, then the descendants it left. */
type Phase = { kind: "command"; pid: number; stop: GracefulStop } | { kind: "descendants"; stop: GracefulStop } | { kind: "done" };

/** Runs the command under supervision and resolves to jerrylock's exit status. */
export async function run(options: RunOptions, dependencies: RunDependencies = defaultDependencies(options)): Promise<number> {
  const { control, log } = dependencies;

  // Catch signals first: one that arrives during start-up is kept for the
  // command instead of ending jerrylock.
  const signals = new SignalRouter(control);
  const reaper = new Reaper(control, process.pid, log);
  try {
    // Pick the lock directories; an explicit one that cannot be read is
    // jerrylock's own error, before anything starts.
    const lockDirs = chooseLockDirs(options.lockDirs, log);
    if (lockDirs.kind === "invalid") {
      log.warn(lockDirs.message);
      return EXIT.runUsage;
    }

    // Become the parent of orphaned descendants, so they are reaped and can
    // be stopped when the command exits.
    becomeReaper(control, log);

    // Remove stale locks once, within a time bound; a failure never keeps the
    // command from starting.
    if (options.gc) collectGarbageBeforeStart(dependencies.platform, lockDirs.dirs, options.gcTimeoutMs, log);

    // Start the command with jerrylock's stdin, stdout, stderr and environment.
    const startedAtMs = Date.now() - MTIME_LAG_MARGIN_MS;
    const started = startCommand(options.command, control);
    if (started.kind === "failed") {
      log.warn(started.message);
      return started.status;
    }
    const { child } = started;
    const fullExitCode = watchExitCode(control, child.pid, log);
    log.info(`started ${JSON.stringify(options.command[0])} as pid ${child.pid}`);

    // Forward signals to the command, those that arrived during start-up first.
    const phase: { current: Phase } = { current: { kind: "command", pid: child.pid, stop: commandStop(control, child.pid, options.graceMs, log) } };
    signals.attach((caught) => handleSignal(caught, phase.current, control, log));

    // Reap orphans and record the run's pids until the command exits.
    reaper.start(child.pid);
    await child.exited;
    reaper.commandExited();
    const requestedStop = phase.current.kind === "command" ? phase.current.stop : undefined;
    requestedStop?.cancel();
    const status = exitStatusOf({ exitCode: child.exitCode, signalCode: child.signalCode, fullExitCode: fullExitCode?.() });
    log.info(`command exited with status ${status}`);

    // Stop the descendants the command left behind, and wait until they are
    // gone: a descendant that still holds a lock keeps it while it runs.
    // A stop request that is already under way keeps its deadline: one
    // --grace covers the command and its descendants, as a container runtime's
    // stop timeout expects, and after a SIGKILL the descendants get one at once.
    const descendantGraceMs = requestedStop?.started === true ? requestedStop.remainingMs() : options.graceMs;
    const descendantStop = new GracefulStop(descendantGraceMs, (reason) => killDescendants(reaper, control, reason, options.graceMs, log));
    if (requestedStop?.killReason === "hurry") descendantStop.hurry();
    else if (requestedStop?.killReason === "grace") descendantStop.expire();
    phase.current = { kind: "descendants", stop: descendantStop };
    await stopDescendants(reaper, control, descendantStop, log);
    phase.current = { kind: "done" };

    // Remove the locks the run left behind.
    cleanAfterRun(dependencies.platform, lockDirs.dirs, { startedAtMs, pids: reaper.runPids }, log);

    // Exit with the command's status, never by raising a signal at jerrylock.
    return status;
  } finally {
    reaper.dispose();
    signals.dispose();
  }
}

function defaultDependencies(options: RunOptions): RunDependencies {
  return { control: currentProcessControl(), platform: currentPlatform, log: createRunLog(options.verbose) };
}

function becomeReaper(control: ProcessControl, log: RunLog): void {
  if (!control.hasSignals) return;
  if (process.pid === 1) {
    log.info("running as PID 1: orphaned processes of this pid namespace come to jerrylock to be reaped");
    return;
  }
  try {
    if (control.becomeSubreaper()) log.info("registered as child subreaper: orphaned descendants come to jerrylock to be reaped");
    else log.info(`${control.os} has no child subreaper: descendants that outlive the command are neither reaped nor stopped`);
  } catch (error) {
    log.warn(`cannot register as child subreaper: ${(error as Error).message}; descendants that outlive the command will not be reaped or stopped`);
  }
}

function watchExitCode(control: ProcessControl, pid: number, log: RunLog): (() => number | null) | null {
  try {
    return control.watchExitCode(pid);
  } catch (error) {
    log.warn(`cannot watch the exit code of pid ${pid}: ${(error as Error).message}; the status may lose its high bits`);
    return null;
  }
}

/** Creates the stop of the command: the forwarded signal now, SIGKILL after `graceMs`. */
export function commandStop(control: ProcessControl, pid: number, graceMs: number, log: RunLog): GracefulStop {
  return new GracefulStop(graceMs, (reason) => {
    const why = reason === "grace" ? `still running ${formatDuration(graceMs)} after the stop request` : "second stop request";
    log.warn(`${why}: sending SIGKILL to the command (pid ${pid})`);
    sendSignal(control, pid, "SIGKILL", log);
  });
}

/** Applies the signal policy: see signal-policy.ts for what is forwarded and why. */
function handleSignal(caught: CaughtSignal, phase: Phase, control: ProcessControl, log: RunLog): void {
  if (phase.kind === "descendants") {
    if (STOP_SIGNALS.has(caught.signal)) phase.stop.hurry();
    return;
  }
  if (phase.kind !== "command") return;
  forwardToCommand(caught, phase.pid, phase.stop, control, log);
}

/** Forwards one caught signal to the running command under the signal policy; `with` uses it too. */
export function forwardToCommand(caught: CaughtSignal, pid: number, stop: GracefulStop, control: ProcessControl, log: RunLog): void {
  const { signal, terminalForeground } = caught;
  if (STOP_SIGNALS.has(signal) && stop.started) {
    stop.hurry();
    return;
  }
  const policy = POSIX_SIGNAL_POLICY.find((entry) => entry.signal === signal);
  if (policy === undefined || !control.hasSignals) return;
  if (policy.forward === "unless-terminal" && terminalForeground) {
    log.info(`${signal}: the terminal delivered it to the command too; not forwarded`);
    return;
  }

  log.info(`${signal}: forwarding to the command (pid ${pid})`);
  sendSignal(control, pid, signal, log);
  if (policy.stops) stop.begin();
}

async function stopDescendants(reaper: Reaper, control: ProcessControl, stop: GracefulStop, log: RunLog): Promise<void> {
  let remaining = reaper.sweep();
  if (remaining.length === 0) return;

  log.info(`the command left ${countProcesses(remaining.length)} (${remaining.join(", ")}); sending SIGTERM and waiting for them`);
  const signalled = new Set<number>();
  stop.begin();
  while (remaining.length > 0) {
    for (const pid of remaining) {
      if (signalled.has(pid)) continue;
      signalled.add(pid);
      sendSignal(control, pid, stop.killing ? "SIGKILL" : "SIGTERM", log);
    }
    await reaper.nextSweep(DESCENDANT_POLL_MS);
    remaining = reaper.sweep();
  }
  stop.cancel();
  log.info("all descendants are gone");
}

function killDescendants(reaper: Reaper, control: ProcessControl, reason: "grace" | "hurry", graceMs: number, log: RunLog): void {
  const remaining = reaper.sweep();
  const why = reason === "grace" ? `still running ${formatDuration(graceMs)} after SIGTERM` : "second stop request";
  if (remaining.length === 0) return;
  log.warn(`${why}: sending SIGKILL to ${countProcesses(remaining.length)} the command left (${remaining.join(", ")})`);
  for (const pid of remaining) sendSignal(control, pid, "SIGKILL", log);
}

function countProcesses(count: number): string {
  return count === 1 ? "1 process" : `${count} processes`;
}

function sendSignal(control: ProcessControl, pid: number, signal: NodeJS.Signals, log: RunLog): void {
  try {
    control.sendSignal(pid, signal);
  } catch (error) {
    log.warn(`cannot send ${signal} to pid ${pid}: ${(error as Error).message}`);
  }
}
