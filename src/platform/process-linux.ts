// Process supervision calls for `jerrylock run` on Linux.
import { readdirSync, readFileSync } from "node:fs";
import { ptr } from "bun:ffi";
import { LINUX_ERRNO, linuxLibcPath, openLibc } from "./libc.ts";
import { isTerminalForeground, sendPosixSignal } from "./process-posix.ts";
import { PlatformError, type ProcessControl, type ReapResult } from "./types.ts";

const PR_SET_CHILD_SUBREAPER = 36;
const WNOHANG = 1;
const ECHILD = 10;
const EINTR = 4;

function loadLibc() {
  return openLibc(
    linuxLibcPath(),
    {
      // prctl is variadic in glibc; on x86_64 and aarch64 integer arguments
      // travel in the same registers either way.
      prctl: { args: ["i32", "u64", "u64", "u64", "u64"], returns: "i32" },
      waitpid: { args: ["i32", "ptr", "i32"], returns: "i32" },
      getpgrp: { args: [], returns: "i32" },
      tcgetpgrp: { args: ["i32"], returns: "i32" },
    },
    "__errno_location",
    LINUX_ERRNO,
  );
}

/** Reads the children of every thread of `pid`: a child belongs to the thread that forked it. */
function readChildren(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }

  const children: number[] = [];
  for (const task of tasks) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/task/${task}/children`, "utf8");
    } catch {
      continue;
    }
    for (const field of text.split(" ")) {
      const child = Number.parseInt(field, 10);
      if (child > 0) children.push(child);
    }
  }
  return children;
}

export function createLinuxProcessControl(): ProcessControl {
  const libc = loadLibc();
  const status = new Int32Array(1);

  return {
    os: "linux",
    hasSignals: true,

    becomeSubreaper(): boolean {
      if (libc.symbols.prctl(PR_SET_CHILD_SUBREAPER, 1n, 0n, 0n, 0n) !== 0) throw libc.fail("prctl(PR_SET_CHILD_SUBREAPER)");
      return true;
    },

    // /proc/PID/task/TID/children needs CONFIG_PROC_CHILDREN, which the
    // kernels of the major distributions enable; without it the list is empty.
    listChildren: (pid) => readChildren(pid),

    reapIfExited(pid): ReapResult {
      for (;;) {
        const result = libc.symbols.waitpid(pid, ptr(status), WNOHANG);
        if (result === pid) return "reaped";
        if (result === 0) return "running";
        const errno = libc.errno();
        if (errno === EINTR) continue;
        if (errno === ECHILD) return "not-child";
        throw new PlatformError(libc.errnoName(errno), "waitpid", undefined, `pid ${pid}`);
      }
    },

    sendSignal: sendPosixSignal,

    isTerminalForeground: () => isTerminalForeground(libc.symbols.tcgetpgrp, libc.symbols.getpgrp),

    watchExitCode: () => null,

    exit(code): never {
      process.exit(code);
    },
  };
}
