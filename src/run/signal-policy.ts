// Which signals `jerrylock run` forwards to the command, which it leaves
// alone, and why. The wrapper installs a listener for every forwarded signal
// whether or not a terminal is attached and whatever its pid, because the
// kernel drops a signal sent to PID 1 that has no handler.
//
// | signal   | what jerrylock does                               | why
// |----------|---------------------------------------------------|--------------------------------------------------
// | SIGTERM  | forward; starts the stop (SIGKILL after --grace)  | `docker stop`, systemd and kill(1) ask to stop this way
// | SIGINT   | forward, unless the terminal already sent it;     | Ctrl-C goes to the terminal's whole foreground group,
// |          | starts the stop when forwarded                    | the command included, so forwarding it too would
// |          |                                                   | deliver it twice; an interactive shell ignores it
// |          |                                                   | and must not be killed after --grace
// | SIGQUIT  | forward, unless the terminal already sent it      | Ctrl-\ reaches the foreground group like Ctrl-C
// | SIGWINCH | forward, unless the terminal already sent it      | a resized terminal signals its foreground group
// | SIGHUP   | forward only                                      | daemons reload their configuration on it, so it
// |          |                                                   | never starts a stop
// | SIGUSR1  | forward only                                      | meaning belongs to the command
// | SIGUSR2  | forward only                                      | meaning belongs to the command
// | SIGKILL, | cannot be caught                                  | jerrylock dies at once and cannot clean; the next
// | SIGSTOP  |                                                   | run or clean removes the locks, which are then stale
// | SIGTSTP, | not forwarded                                     | the command shares jerrylock's process group, so
// | SIGTTIN, |                                                   | Ctrl-Z and the shell's `fg` and `bg` reach both, and
// | SIGTTOU, |                                                   | job control works as without jerrylock
// | SIGCONT  |                                                   |
// | SIGCHLD  | not forwarded                                     | tells jerrylock to reap orphans
// | SIGPIPE, | not forwarded; default action                     | jerrylock's own conditions, not the command's
// | others   |                                                   |
//
// "The terminal already sent it" means jerrylock is in the foreground process
// group of its controlling terminal, checked when the signal arrives. A
// SIGINT sent with kill(1) to a jerrylock that runs in the foreground of a
// terminal is then not forwarded either: send SIGTERM, or signal the command.
//
// A second SIGTERM or SIGINT (the terminal's included) while a stop is under
// way sends SIGKILL at once instead of waiting for the rest of --grace.
//
// Windows has no POSIX signals. The console sends Ctrl-C and Ctrl-Break to
// every process attached to it, the command included, so jerrylock forwards
// nothing: it catches SIGINT, SIGBREAK and SIGHUP (Bun's names for the console
// events) only so that it keeps waiting for the command and passes its exit
// code on.

export type ForwardRule = "always" | "unless-terminal";

export interface SignalPolicy {
  signal: NodeJS.Signals;
  forward: ForwardRule;
  /** Whether a forwarded signal asks jerrylock to stop, starting the --grace timer. */
  stops: boolean;
}

export const POSIX_SIGNAL_POLICY: readonly SignalPolicy[] = [
  { signal: "SIGTERM", forward: "always", stops: true },
  { signal: "SIGINT", forward: "unless-terminal", stops: true },
  { signal: "SIGQUIT", forward: "unless-terminal", stops: false },
  { signal: "SIGWINCH", forward: "unless-terminal", stops: false },
  { signal: "SIGHUP", forward: "always", stops: false },
  { signal: "SIGUSR1", forward: "always", stops: false },
  { signal: "SIGUSR2", forward: "always", stops: false },
];

/** Console events jerrylock catches on Windows so that they do not end it before the command. */
export const WINDOWS_CAUGHT_SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGBREAK", "SIGHUP"];

/** Signals whose repetition during a stop sends SIGKILL at once. */
export const STOP_SIGNALS: ReadonlySet<NodeJS.Signals> = new Set(["SIGTERM", "SIGINT"]);
