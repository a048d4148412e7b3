// Catching the signals of signal-policy.ts from the very start of `run`, and
// handing them to the supervisor once the command is running.
import type { ProcessControl } from "../platform/types.ts";
import { POSIX_SIGNAL_POLICY, WINDOWS_CAUGHT_SIGNALS } from "./signal-policy.ts";

export interface CaughtSignal {
  signal: NodeJS.Signals;
  /**
   * Whether jerrylock was in its terminal's foreground process group when
   * the signal arrived, so the terminal delivered it to the command as well.
   */
  terminalForeground: boolean;
}

export type SignalHandler = (caught: CaughtSignal) => void;

/**
 * Listens for every signal of the policy. Signals that arrive before a
 * handler is attached are kept in order and replayed to it, so a SIGTERM
 * during the start-up pass still reaches the command.
 */
export class SignalRouter {
  private handler: SignalHandler | null = null;
  private readonly pending: CaughtSignal[] = [];
  private readonly listeners = new Map<NodeJS.Signals, () => void>();

  constructor(private readonly control: ProcessControl) {
    const signals = control.hasSignals ? POSIX_SIGNAL_POLICY.map((entry) => entry.signal) : WINDOWS_CAUGHT_SIGNALS;
    for (const signal of signals) {
      const listener = () => this.receive(signal);
      this.listeners.set(signal, listener);
      process.on(signal, listener);
    }
  }

  /** Sets the handler and replays the signals that arrived before it. */
  attach(handler: SignalHandler): void {
    this.handler = handler;
    for (const caught of this.pending.splice(0)) handler(caught);
  }

  dispose(): void {
    for (const [signal, listener] of this.listeners) process.off(signal, listener);
    this.listeners.clear();
    this.handler = null;
  }

  private receive(signal: NodeJS.Signals): void {
    const caught = { signal, terminalForeground: this.control.hasSignals && this.control.isTerminalForeground() };
    if (this.handler === null) this.pending.push(caught);
    else this.handler(caught);
  }
}

/**
 * The stop of a set of processes: a signal now, SIGKILL after the grace
 * period, or at once when `hurry` is called (a second stop request).
 */
export class GracefulStop {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private begun = false;
  private begunAtMs = 0;
  private killed = false;
  /** Why SIGKILL was sent: the grace period ran out, or a second stop request. */
  killReason: "grace" | "hurry" | undefined;

  constructor(
    private readonly graceMs: number,
    private readonly kill: (reason: "grace" | "hurry") => void,
  ) {}

  get started(): boolean {
    return this.begun;
  }

  /** Whether SIGKILL has been sent; processes that appear later get SIGKILL too. */
  get killing(): boolean {
    return this.killed;
  }

  /** Grace time left in ms: all of it before begin, none once SIGKILL was sent. */
  remainingMs(): number {
    if (this.killed) return 0;
    if (!this.begun) return this.graceMs;
    return Math.max(0, this.graceMs - (Date.now() - this.begunAtMs));
  }

  begin(): void {
    if (this.begun) return;
    this.begun = true;
    this.begunAtMs = Date.now();
    this.timer = setTimeout(() => this.killNow("grace"), this.graceMs);
  }

  hurry(): void {
    this.begun = true;
    this.killNow("hurry");
  }

  cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Sends SIGKILL at once, as when the grace period has run out. */
  expire(): void {
    this.begun = true;
    this.killNow("grace");
  }

  private killNow(reason: "grace" | "hurry"): void {
    this.killReason = reason;
    this.cancel();
    this.killed = true;
    this.kill(reason);
  }
}
