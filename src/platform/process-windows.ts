// Process supervision calls for `jerrylock run` on Windows, through kernel32.
//
// Windows has no POSIX signals: the console sends Ctrl-C to every process
// attached to it, the command included, so the wrapper forwards nothing and
// only waits. Exit codes are 32 bits (NTSTATUS crash codes such as
// 0xC0000005 use the high bits), and Bun 1.4.5 narrows a child's exit code to
// 8 bits, so the code is read with GetExitCodeProcess and passed on with
// ExitProcess.
//
// NOTE: built and type-checked only; the Wine suite has not exercised this
// file yet.
import { dlopen, ptr, type Pointer } from "bun:ffi";
import { PlatformError, type ProcessControl } from "./types.ts";

const PROCESS_QUERY_LIMITED_INFORMATION = 0x1000;
const SYNCHRONIZE = 0x00100000;

function loadKernel32() {
  return dlopen("kernel32.dll", {
    OpenProcess: { args: ["u32", "i32", "u32"], returns: "ptr" },
    GetExitCodeProcess: { args: ["ptr", "ptr"], returns: "i32" },
    CloseHandle: { args: ["ptr"], returns: "i32" },
    ExitProcess: { args: ["u32"], returns: "void" },
    GetLastError: { args: [], returns: "u32" },
  }).symbols;
}

export function createWindowsProcessControl(): ProcessControl {
  const kernel32 = loadKernel32();

  return {
    os: "windows",
    hasSignals: false,

    // Windows has no reparenting of orphans, so there is nothing to reap.
    becomeSubreaper: () => false,
    listChildren: () => null,
    reapIfExited: () => "not-child",

    sendSignal(pid, signal): boolean {
      // Bun maps every signal but 0 to TerminateProcess on Windows.
      try {
        process.kill(pid, signal);
        return true;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? "EUNKNOWN";
        if (code === "ESRCH") return false;
        throw new PlatformError(code, "TerminateProcess", undefined, `pid ${pid}`);
      }
    },

    isTerminalForeground: () => false,

    watchExitCode(pid): () => number | null {
      // The handle keeps the process object, and so its exit code, alive
      // after the process ends; it is opened right after the spawn, before
      // the pid can be reused.
      const handle = kernel32.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | SYNCHRONIZE, 0, pid) as Pointer | null;
      if (handle === null) {
        throw new PlatformError(`Win32 error ${kernel32.GetLastError()}`, "OpenProcess", undefined, `pid ${pid}`);
      }

      return () => {
        const code = new Uint32Array(1);
        const ok = kernel32.GetExitCodeProcess(handle, ptr(code)) !== 0;
        kernel32.CloseHandle(handle);
        return ok ? (code[0] ?? null) : null;
      };
    },

    exit(code): never {
      kernel32.ExitProcess(code >>> 0);
      throw new Error("ExitProcess returned");
    },
  };
}
