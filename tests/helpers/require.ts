// Gates tests on the real tools they drive. A missing tool skips with a
// message naming the Debian package; with JERRYLOCK_REQUIRE_ALL=1 (set by
// .ci/run) a missing tool fails the run instead, so CI always tests against
// the real thing.
import { spawnSync } from "bun";
import { test } from "bun:test";

/**
 * Returns whether `what` is present. When it is not, logs the package to
 * install, or registers a failing test under JERRYLOCK_REQUIRE_ALL=1.
 */
export function needs(what: string, debianPackage: string, present: boolean): boolean {
  if (present) return true;

  const message = `${what} is missing: install the Debian package "${debianPackage}"`;
  if (process.env.JERRYLOCK_REQUIRE_ALL === "1") {
    test(`requires ${what}`, () => {
      throw new Error(`${message} (JERRYLOCK_REQUIRE_ALL=1 turns this skip into a failure)`);
    });
  } else {
    console.warn(`skipping tests: ${message}`);
  }
  return false;
}

export function hasCommand(command: string): boolean {
  return Bun.which(command) !== null;
}

/** True when /usr/bin/python3 can import py-filelock (Debian's python3-filelock). */
export function hasPyFilelock(): boolean {
  const result = spawnSync(["/usr/bin/python3", "-c", "import filelock"], { stdout: "ignore", stderr: "ignore" });
  return result.exitCode === 0;
}
