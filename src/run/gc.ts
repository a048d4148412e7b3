// The two lock-directory passes of `run`: the start-up pass under the rules
// of `clean`, and the after-run pass that also removes what the run left.
import { accessSync, constants } from "node:fs";
import { cleanDirectories, type CleanReport, type ConfinedDir } from "../core/clean.ts";
import type { RunScope } from "../core/classify.ts";
import { DEFAULTS } from "../core/defaults.ts";
import { parseDuration } from "../core/duration.ts";
import { checkExplicitDir, lockTargets, resolveLockDirs } from "../cli/lock-dirs.ts";
import type { Platform } from "../platform/types.ts";
import type { RunLog } from "./log.ts";

export type LockDirChoice = { kind: "dirs"; dirs: (string | ConfinedDir)[] } | { kind: "invalid"; message: string };

/**
 * Picks the lock directories as `clean` does. A directory given with
 * --lock-dir must be readable; one from JERRYLOCK_DIR or discovery that is
 * missing only skips the passes, so a container still starts its command.
 */
export function chooseLockDirs(explicit: string[], log: RunLog): LockDirChoice {
  const found = resolveLockDirs(explicit, process.cwd(), process.env, "--lock-dir DIR");
  if (found.source === "explicit") {
    for (const dir of found.dirs) {
      const problem = checkExplicitDir(dir) ?? checkReadable(dir);
      if (problem !== null) return { kind: "invalid", message: problem };
    }
    return { kind: "dirs", dirs: found.dirs };
  }

  const usable = found.dirs.filter((dir) => {
    const problem = checkExplicitDir(dir) ?? checkReadable(dir);
    if (problem !== null) log.warn(`${problem}; the run cleans no locks there`);
    return problem === null;
  });
  if (found.message !== undefined) log.info(`${found.message}; the run cleans no locks`);
  return { kind: "dirs", dirs: lockTargets({ ...found, dirs: usable }) };
}

function checkReadable(dir: string): string | null {
  try {
    accessSync(dir, constants.R_OK | constants.X_OK);
    return null;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    return `cannot read lock directory "${dir}": ${code}; check its permissions or pass another --lock-dir`;
  }
}

/**
 * Removes stale locks before the command starts, within `timeoutMs`. Every
 * failure is logged and swallowed: the pass must never keep the command
 * from starting.
 */
export function collectGarbageBeforeStart(platform: () => Platform, dirs: (string | ConfinedDir)[], timeoutMs: number, log: RunLog): void {
  if (dirs.length === 0) return;
  try {
    const report = cleanDirectories(platform(), dirs, {
      ...commonOptions(),
      deadlineMs: Date.now() + timeoutMs,
    });
    logReport("start-up pass", report, log);
  } catch (error) {
    log.warn(`start-up pass over ${quoteList(dirs)} failed: ${(error as Error).message}; starting the command anyway`);
  }
}

/**
 * Removes the locks the run left behind: files written during the run, or
 * naming one of its pids, when no process holds or has them open, plus
 * whatever `clean` would remove anyway.
 */
export function cleanAfterRun(platform: () => Platform, dirs: (string | ConfinedDir)[], scope: RunScope, log: RunLog): void {
  if (dirs.length === 0) return;
  try {
    const report = cleanDirectories(platform(), dirs, { ...commonOptions(), runScope: scope });
    logReport("after-run pass", report, log);
  } catch (error) {
    log.warn(`after-run pass over ${quoteList(dirs)} failed: ${(error as Error).message}; run 'jerrylock clean' to retry`);
  }
}

function commonOptions() {
  return {
    remove: true,
    dryRun: false,
    maxAgeMs: parseDuration(DEFAULTS.maxAge) as number,
    pattern: DEFAULTS.pattern,
    recursive: false,
  };
}

function logReport(pass: string, report: CleanReport, log: RunLog): void {
  for (const lock of report.locks) {
    if (lock.removed) log.info(`${pass}: removed "${lock.path}" (${lock.verdict}: ${lock.reason})`);
    if (lock.warning !== undefined) log.warn(`${pass}: "${lock.path}": ${lock.warning}`);
    if (lock.verdict === "error") log.warn(`${pass}: kept "${lock.path}": ${lock.reason}`);
  }
  const { scanned, removed, not_checked: notChecked } = report.summary;
  log.info(`${pass}: ${removed} of ${scanned} files removed${notChecked > 0 ? `, ${notChecked} not reached in time` : ""}`);
}

function quoteList(dirs: (string | ConfinedDir)[]): string {
  return dirs.map((dir) => `"${typeof dir === "string" ? dir : dir.path}"`).join(", ");
}
