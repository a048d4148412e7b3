// Process calls that Linux and macOS share, for `jerrylock run`.
import { closeSync, constants, openSync } from "node:fs";
import { PlatformError } from "./types.ts";

/** Sends `signal` to `pid`; returns false when the process is gone. */
export function sendPosixSignal(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "EUNKNOWN";
    if (code === "ESRCH") return false;
    throw new PlatformError(code, "kill", undefined, `pid ${pid}, ${signal}`);
  }
}

/**
 * Returns whether this process is in the foreground process group of its
 * controlling terminal. /dev/tty is that terminal whichever of stdin, stdout
 * and stderr are redirected; opening it fails with ENXIO when there is none.
 */
export function isTerminalForeground(tcgetpgrp: (fd: number) => number, getpgrp: () => number): boolean {
  let fd: number;
  try {
    fd = openSync("/dev/tty", constants.O_RDONLY | constants.O_NOCTTY | constants.O_NONBLOCK);
  } catch {
    return false;
  }
  try {
    const foreground = tcgetpgrp(fd);
    return foreground > 0 && foreground === getpgrp();
  } finally {
    closeSync(fd);
  }
}
