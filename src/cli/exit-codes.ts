// Exit statuses of every command, in one place: `--help`, the README and the
// tests read them from here.

export const EXIT = {
  /** Done; for `clean`, also when some files were kept or not reached, unless --strict. */
  ok: 0,
  /** `clean`: a removal failed, or --strict and anything went wrong. */
  failed: 1,
  /** `clean`, `ls`: bad usage. */
  usage: 2,
  /** `run`, `with`: jerrylock's own error before the command started, as env(1) and timeout(1) use. */
  runUsage: 125,
  /** `run`, `with`: the command was found but is not executable. */
  notExecutable: 126,
  /** `run`, `with`: the command was not found. */
  notFound: 127,
  /** `run`, `with`: a command killed by signal N exits with signalBase + N. */
  signalBase: 128,
  /** `with`: default status when the lock is held by another process. */
  conflict: 1,
} as const;
