// Process supervision calls for `jerrylock run` on macOS.
//
// NOTE: built and type-checked only; nothing here can run a Mach-O binary, so
// no test has exercised this file on macOS yet.
import { openLibc } from "./libc.ts";
import { isTerminalForeground, sendPosixSignal } from "./process-posix.ts";
import type { ProcessControl } from "./types.ts";

function loadLibSystem() {
  return openLibc(
    "/usr/lib/libSystem.B.dylib",
    {
      getpgrp: { args: [], returns: "i32" },
      tcgetpgrp: { args: ["i32"], returns: "i32" },
    },
    "__error",
    {},
  );
}

export function createDarwinProcessControl(): ProcessControl {
  const libc = loadLibSystem();

  return {
    os: "darwin",
    hasSignals: true,

    // macOS has no child subreaper: orphans reparent to launchd, so the
    // wrapper can neither reap nor stop descendants that outlive the command.
    becomeSubreaper: () => false,

    // TODO: proc_listchildpids in libproc could list children; without it the
    // wrapper sees no descendants on macOS.
    listChildren: () => null,

    // Orphans never reparent to jerrylock here, so it has no child to reap
    // besides the command, which the runtime waits for.
    reapIfExited: () => "not-child",

    sendSignal: sendPosixSignal,

    isTerminalForeground: () => isTerminalForeground(libc.symbols.tcgetpgrp, libc.symbols.getpgrp),

    watchExitCode: () => null,

    exit(code): never {
      process.exit(code);
    },
  };
}
