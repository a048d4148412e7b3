// Compiles jerrylock with `bun build --compile`.
//
//   bun scripts/build.ts                      dist/jerrylock for this machine
//   bun scripts/build.ts --all                every release target, plus dist/SHA256SUMS
//   bun scripts/build.ts --target windows-x64 one or more named targets (repeatable)
//   --outdir DIR                              write somewhere other than dist/
//
// Cross targets need the Bun runtime of that target; `bun build` downloads it
// from the npm registry (@oven/bun-<target>) on first use and caches it.
// Each binary learns its target name through `--define JERRYLOCK_TARGET`, so
// `jerrylock --version` names it.
import { $ } from "bun";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";

/** Release targets: jerrylock's name for each, and Bun's `--target` value. */
export const RELEASE_TARGETS = [
  { name: "linux-x64", bun: "bun-linux-x64" },
  { name: "linux-arm64", bun: "bun-linux-arm64" },
  { name: "linux-x64-musl", bun: "bun-linux-x64-musl" },
  { name: "linux-arm64-musl", bun: "bun-linux-arm64-musl" },
  { name: "darwin-x64", bun: "bun-darwin-x64" },
  { name: "darwin-arm64", bun: "bun-darwin-arm64" },
  { name: "windows-x64", bun: "bun-windows-x64" },
] as const;

export type ReleaseTarget = (typeof RELEASE_TARGETS)[number];

/** File name of a release binary, for example "jerrylock-windows-x64.exe". */
export function releaseFileName(target: ReleaseTarget): string {
  return `jerrylock-${target.name}${target.name.startsWith("windows") ? ".exe" : ""}`;
}

const ENTRY = "src/cli/main.ts";

async function compile(outfile: string, targetName: string, bunTarget?: string): Promise<void> {
  const targetOption = bunTarget === undefined ? [] : [`--target=${bunTarget}`];
  const result = await $`${process.execPath} build --compile --minify-syntax --minify-whitespace --bytecode --format=esm ${targetOption} --define JERRYLOCK_TARGET=${JSON.stringify(targetName)} ${ENTRY} --outfile ${outfile}`
    .quiet()
    .nothrow();
  if (result.exitCode !== 0) {
    throw new Error(`Build for "${targetName}" failed with exit code ${result.exitCode}:\n${result.stderr.toString()}${result.stdout.toString()}`);
  }
}

/** Target name of this machine, with "-musl" when the running Bun uses musl. */
function hostTargetName(): string {
  const base = `${process.platform === "win32" ? "windows" : process.platform}-${process.arch}`;
  if (process.platform !== "linux") return base;
  let maps = "";
  try {
    maps = readFileSync("/proc/self/maps", "utf8");
  } catch {
    return base;
  }
  return /ld-musl-|libc\.musl-/.test(maps) ? `${base}-musl` : base;
}

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      all: { type: "boolean", default: false },
      target: { type: "string", multiple: true, default: [] },
      outdir: { type: "string", default: "dist" },
    },
  });
  const outdir = values.outdir;
  mkdirSync(outdir, { recursive: true });

  if (!values.all && values.target.length === 0) {
    const name = hostTargetName();
    const outfile = join(outdir, process.platform === "win32" ? "jerrylock.exe" : "jerrylock");
    await compile(outfile, name);
    console.error(`built ${outfile} (${name})`);
    return;
  }

  const valid = RELEASE_TARGETS.map((target) => target.name).join(", ");
  const selected = values.all
    ? [...RELEASE_TARGETS]
    : values.target.map((name) => {
        const found = RELEASE_TARGETS.find((target) => target.name === name);
        if (found === undefined) throw new Error(`Unknown target "${name}"; valid targets: ${valid}`);
        return found;
      });

  // Targets build one after another, because each compile keeps a ~110 MB runtime in memory.
  const files: string[] = [];
  for (const target of selected) {
    const outfile = join(outdir, releaseFileName(target));
    await compile(outfile, target.name, target.bun);
    files.push(outfile);
    console.error(`built ${outfile}`);
  }

  // sha256sum's format, so `sha256sum -c SHA256SUMS` checks a download.
  const sums = files.map((file) => `${sha256(file)}  ${basename(file)}\n`).join("");
  writeFileSync(join(outdir, "SHA256SUMS"), sums);
  console.error(`wrote ${join(outdir, "SHA256SUMS")} (${files.length} files)`);
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error(`build: ${(error as Error).message}`);
    process.exit(1);
  }
}
