// The exit status of `jerrylock run`: the command's own, spelled as a shell
// spells it, so a wrapped command looks the same to its caller.
import { constants } from "node:os";
import { EXIT } from "../cli/exit-codes.ts";

export interface CommandExit {
  /** Exit code when the command exited normally, else null. */
  exitCode: number | null;
  /** Signal that killed the command, by name ("SIGKILL") or number, else null. */
  signalCode: string | number | null;
  /** The full code read from the OS where the runtime narrows it (Windows), else null. */
  fullExitCode?: number | null;
}

/**
 * Returns 128+N for a command killed by signal N, never 0 for a signalled
 * command, and the exit code (all 32 bits on Windows) otherwise.
 */
export function exitStatusOf(exit: CommandExit): number {
  if (exit.fullExitCode !== undefined && exit.fullExitCode !== null) return exit.fullExitCode;
  if (typeof exit.signalCode === "number") return EXIT.signalBase + exit.signalCode;
  if (exit.signalCode !== null) return EXIT.signalBase + signalNumber(exit.signalCode);
  return exit.exitCode ?? EXIT.failed;
}

/** Number of a signal name on this OS; 0 for a name the runtime does not know, so the status stays above 128. */
export function signalNumber(name: string): number {
  return (constants.signals as Record<string, number | undefined>)[name] ?? 0;
}
