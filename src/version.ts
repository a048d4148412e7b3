import packageJson from "../package.json" with { type: "json" };

// The build script passes the compile target with `--define`; a run from
// source reports the host instead.
declare const JERRYLOCK_TARGET: string | undefined;

export const VERSION: string = packageJson.version;

/** Bun compile target, for example "linux-x64" or "linux-arm64-musl". */
export const TARGET: string =
  typeof JERRYLOCK_TARGET === "string" ? JERRYLOCK_TARGET : `${process.platform}-${process.arch} (from source)`;
