// Finding and starting the command. A command that cannot start gets the
// statuses env(1), timeout(1) and shells use: 127 when it is not found, 126
// when it is found but cannot be executed.
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";
import type { Subprocess } from "bun";
import { EXIT } from "../cli/exit-codes.ts";
import type { ProcessControl } from "../platform/types.ts";

export type StartResult =
  | { kind: "started"; child: Subprocess<"inherit", "inherit", "inherit"> }
  | { kind: "failed"; status: number; message: string };

export type Resolution = { kind: "found"; path: string } | { kind: "failed"; status: number; message: string };

/** Resolves the command name the way execvp does, to tell "not found" from "not executable" before spawning. */
export function resolveCommand(name: string, pathVariable: string | undefined, checkMode: boolean): Resolution {
  if (name.includes("/") || name.includes("\\")) return checkCandidate(name, name, checkMode) ?? { kind: "found", path: name };

  const found = Bun.which(name, { PATH: pathVariable ?? "" });
  if (found !== null) return { kind: "found", path: found };

  // Bun.which skips files without the execute bit; a file of that name
  // earlier in PATH means "found but not executable", as in the shells.
  for (const directory of (pathVariable ?? "").split(delimiter)) {
    if (directory === "") continue;
    const failure = checkCandidate(join(directory, name), name, checkMode);
    if (failure !== null && failure.status === EXIT.notExecutable) return failure;
  }
  return {
    kind: "failed",
    status: EXIT.notFound,
    message: `cannot run "${name}": command not found in PATH; check the name or give its full path`,
  };
}

function checkCandidate(path: string, name: string, checkMode: boolean): (Resolution & { kind: "failed" }) | null {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") {
      return { kind: "failed", status: EXIT.notFound, message: `cannot run "${name}": "${path}" does not exist` };
    }
    return { kind: "failed", status: EXIT.notExecutable, message: `cannot run "${name}": cannot read "${path}": ${code ?? String(error)}` };
  }
  if (isDirectory) {
    return { kind: "failed", status: EXIT.notExecutable, message: `cannot run "${name}": "${path}" is a directory` };
  }
  if (!checkMode) return null;
  try {
    accessSync(path, constants.X_OK);
    return null;
  } catch {
    return {
      kind: "failed",
      status: EXIT.notExecutable,
      message: `cannot run "${name}": "${path}" is not executable; add the execute permission (chmod +x) or run it through its interpreter`,
    };
  }
}

/**
 * Starts the command with jerrylock's stdin, stdout, stderr, environment and
 * process group. `extraDescriptors` become the command's fd 3 and up, as
 * `with` passes its lock; Bun opens its own descriptors close-on-exec, so the
 * command gets nothing else.
 */
export function startCommand(argv: readonly string[], control: ProcessControl, extraDescriptors: readonly number[] = []): StartResult {
  const [name, ...args] = argv;
  if (name === undefined) return { kind: "failed", status: EXIT.runUsage, message: "missing command after --" };

  // Windows has no execute bit; there the spawn itself reports the failure.
  const resolved = resolveCommand(name, process.env.PATH, control.os !== "windows");
  if (resolved.kind === "failed") return resolved;

  try {
    // The command stays in jerrylock's process group, so it remains in the
    // terminal's foreground group and can read the terminal; see
    // signal-policy.ts for what that means for Ctrl-C.
    const child = Bun.spawn([resolved.path, ...args], {
      argv0: name,
      stdio: ["inherit", "inherit", "inherit", ...extraDescriptors] as ["inherit", "inherit", "inherit"],
      env: process.env,
    });
    return { kind: "started", child };
  } catch (error) {
    return spawnFailure(name, error as NodeJS.ErrnoException);
  }
}

function spawnFailure(name: string, error: NodeJS.ErrnoException): StartResult {
  const code = error.code ?? "EUNKNOWN";
  if (code === "ENOENT") {
    // A script whose interpreter (#! line) is missing fails with ENOENT too.
    return {
      kind: "failed",
      status: EXIT.notFound,
      message: `cannot run "${name}": not found (${code}); if it is a script, check the interpreter on its #! line`,
    };
  }
  return { kind: "failed", status: EXIT.notExecutable, message: `cannot run "${name}": ${code}: ${error.message}` };
}
