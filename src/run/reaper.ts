// Reaping orphans and keeping track of the run's processes.
//
// As PID 1, or as child subreaper elsewhere on Linux, jerrylock becomes the
// parent of every orphaned descendant, and a zombie stays until its parent
// waits for it. waitpid(-1) would also take the direct child's status away
// from Bun, which waits for that child itself, so the reaper waits only for
// specific pids: the children of jerrylock other than the command.
import type { ProcessControl } from "../platform/types.ts";
import type { RunLog } from "./log.ts";

/** Fallback interval between sweeps; SIGCHLD usually triggers one sooner. */
const SWEEP_INTERVAL_MS = 500;

export class Reaper {
  /** Every pid seen in the run's process tree: the command and its descendants. */
  readonly runPids = new Set<number>();
  private commandPid: number | null = null;
  private timer: ReturnType<typeof setInterval> | undefined;
  private waiters: Array<() => void> = [];
  private readonly onChildSignal = () => this.sweepAndNotify();

  constructor(
    private readonly control: ProcessControl,
    private readonly selfPid: number,
    private readonly log: RunLog,
  ) {}

  /** Sweeps on every SIGCHLD and at a fixed interval until dispose. */
  start(commandPid: number): void {
    this.commandPid = commandPid;
    this.runPids.add(commandPid);
    if (!this.control.hasSignals) return;

    process.on("SIGCHLD", this.onChildSignal);
    this.timer = setInterval(() => this.sweepAndNotify(), SWEEP_INTERVAL_MS);
  }

  /** Marks the command as exited: Bun has reaped it, so its pid is no longer excluded. */
  commandExited(): void {
    this.commandPid = null;
  }

  /**
   * Reaps every exited child except the command, records the tree's pids,
   * and returns the descendants still present (the command excluded).
   */
  sweep(): number[] {
    const descendants: number[] = [];
    const seen = new Set<number>([this.selfPid]);
    const queue = [this.selfPid];

    while (queue.length > 0) {
      const parent = queue.shift() as number;
      const children = this.control.listChildren(parent);
      if (children === null) break;

      for (const pid of children) {
        if (seen.has(pid)) continue;
        seen.add(pid);
        this.runPids.add(pid);

        if (parent === this.selfPid && pid !== this.commandPid && this.reap(pid)) continue;
        if (pid !== this.commandPid) descendants.push(pid);
        queue.push(pid);
      }
    }
    return descendants;
  }

  /** Resolves after the next sweep triggered by SIGCHLD or by the interval, or after `timeoutMs`. */
  nextSweep(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timeout = setTimeout(resolve, timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timeout);
        resolve();
      });
    });
  }

  dispose(): void {
    process.off("SIGCHLD", this.onChildSignal);
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private reap(pid: number): boolean {
    try {
      const result = this.control.reapIfExited(pid);
      if (result === "reaped") this.log.info(`reaped orphan ${pid}`);
      return result === "reaped";
    } catch (error) {
      this.log.warn(`cannot reap process ${pid}: ${(error as Error).message}; it stays a zombie until jerrylock exits`);
      return false;
    }
  }

  private sweepAndNotify(): void {
    this.sweep();
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
