// Verdict names, in the order the rules are tried: the first that fits wins.
// `--help`, the README, `--json` and the tests all read them from here.

export const VERDICTS = [
  "not-a-lock",
  "held",
  "open",
  "live-owner",
  "stale",
  "foreign",
  "fresh",
  "orphan",
  "error",
  "not-checked",
] as const;

export type Verdict = (typeof VERDICTS)[number];

/** One line per verdict for `--help` and the README. */
export const VERDICT_HELP: Record<Verdict, string> = {
  "not-a-lock": "symlink, fifo, socket, device, directory, hard-linked, too large, or content that is no owner record; never opened for writing, never removed",
  held: "an OS lock (flock, POSIX record lock or OFD lock) is held on it; kept",
  open: "not locked, but another process has it open, for example a waiter about to lock it; kept",
  "live-owner": "its owner record names a live process on this host that started before the file was written; kept",
  stale: "its owner record names a dead process, a reused pid or an earlier boot; removed by clean",
  foreign: "its owner record names another host or pid namespace that cannot be checked from here; kept",
  fresh: "no owner record (or one still being written), not held, not open, younger than --max-age; kept",
  orphan: "no owner record, not held, not open, older than --max-age; removed by clean",
  error: "a probe failed or could not decide; kept, with the error",
  "not-checked": "not reached before --timeout; kept",
};

/** Verdicts that permit removal; every other verdict keeps the file. */
export const REMOVABLE: ReadonlySet<Verdict> = new Set<Verdict>(["stale", "orphan"]);
