// Finding the lock directories a command works on: explicit arguments, then
// JERRYLOCK_DIR, then .jerry/local/locks of the nearest ancestor of the
// working directory that has a .jerry folder, the way git finds .git.
import { statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import type { ConfinedDir } from "../core/clean.ts";
import { DEFAULTS } from "../core/defaults.ts";

export interface LockDirs {
  dirs: string[];
  /** For a discovered directory: the project root it was found below. */
  projectRoot?: string;
  /** "explicit" and "environment" directories must exist; a discovered one may be missing. */
  source: "explicit" | "environment" | "discovered" | "none";
  /** Reason no directory was found, for an informative message. */
  message?: string;
}

/** `directoryOption` names how the caller's user passes a directory, for the message. */
export function resolveLockDirs(explicit: string[], cwd: string, env: Record<string, string | undefined>, directoryOption = "a DIR"): LockDirs {
  if (explicit.length > 0) return { dirs: explicit, source: "explicit" };

  const fromEnvironment = env[DEFAULTS.dirEnvironmentVariable];
  if (fromEnvironment !== undefined && fromEnvironment !== "") return { dirs: [fromEnvironment], source: "environment" };

  for (let directory = resolve(cwd); ; directory = dirname(directory)) {
    if (isDirectory(join(directory, DEFAULTS.rootMarker))) {
      const locks = join(directory, DEFAULTS.lockDirBelowRoot);
      if (isDirectory(locks)) return { dirs: [locks], source: "discovered", projectRoot: directory };
      return { dirs: [], source: "none", message: `no lock directory: "${locks}" does not exist, so there are no lock files` };
    }
    if (dirname(directory) === directory) break;
  }
  return {
    dirs: [],
    source: "none",
    message: `no ${DEFAULTS.rootMarker} folder in "${resolve(cwd)}" or any parent; pass ${directoryOption} or set ${DEFAULTS.dirEnvironmentVariable}`,
  };
}

/** Describes why an explicit directory cannot be used, or returns null when it can. */
export function checkExplicitDir(path: string): string | null {
  try {
    if (statSync(path).isDirectory()) return null;
    return `lock directory "${path}" is not a directory; pass the folder that contains the lock files`;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return `lock directory "${path}" does not exist; check the path or create it`;
    return `cannot read lock directory "${path}": ${code ?? String(error)}; check the path and its permissions`;
  }
}

/**
 * Returns `path` relative to `cwd` when it lies below it, so that reports read
 * as git shows paths; otherwise returns it unchanged.
 */
export function relativeBelow(path: string, cwd: string): string {
  const relativePath = relative(resolve(cwd), path);
  return relativePath === "" || relativePath.startsWith("..") || isAbsolute(relativePath) ? path : relativePath;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Confines a discovered directory below its project root; explicit ones are opened as given. */
export function lockTargets(lockDirs: Pick<LockDirs, "dirs" | "source" | "projectRoot">): (string | ConfinedDir)[] {
  const root = lockDirs.projectRoot;
  if (lockDirs.source !== "discovered" || root === undefined) return lockDirs.dirs;
  return lockDirs.dirs.map((dir) => ({ path: relativeBelow(dir, process.cwd()), root, below: relative(root, dir).split(sep) }));
}
