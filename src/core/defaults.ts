// Defaults and limits in one place: the CLI, `--help`, the README and the
// tests read them from here.

export const DEFAULTS = {
  /** Directory below the project root that holds the framework's lock files. */
  lockDirBelowRoot: ".jerry/local/locks",
  /** Marker folder that identifies the project root when walking up from the working directory. */
  rootMarker: ".jerry",
  /** Environment variable that overrides the discovered lock directory. */
  dirEnvironmentVariable: "JERRYLOCK_DIR",
  pattern: "*.lock",
  /** Files without an owner record younger than this are `fresh`, older ones `orphan`. */
  maxAge: "5m",
  /** `run`: time a child gets between the forwarded signal and SIGKILL. */
  grace: "10s",
  /** `run`: bound on the garbage-collection pass before the child starts. */
  runGcTimeout: "2s",
} as const;

export const LIMITS = {
  /** Files larger than this are not owner records, so they are `not-a-lock`. */
  recordMaxBytes: 4096,
  /**
   * An owner record without its final newline that is younger than this may
   * still be being written, so it is not trusted yet.
   */
  recordSettleMs: 5000,
  /**
   * A live pid counts as reused only when its process started this much later
   * than the file was written. Start times come from clock ticks plus a boot
   * time with one-second resolution, so closer values are ambiguous.
   */
  pidReuseMarginMs: 2000,
  /** A progress line appears on a terminal once a run takes longer than this. */
  progressAfterMs: 1000,
} as const;
