// Compiles dist/jerrylock for this machine with `bun build --compile`.
import { $ } from "bun";

const target = `${process.platform}-${process.arch}`;
await $`bun build --compile --minify-syntax --define JERRYLOCK_TARGET=${JSON.stringify(target)} src/cli/main.ts --outfile dist/jerrylock`.quiet();
console.error(`built dist/jerrylock (${target})`);
