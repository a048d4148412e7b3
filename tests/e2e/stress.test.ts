// Mutual exclusion under load: STRESS_PROCESSES clients each run
// STRESS_ROUNDS critical sections (read a counter, write it back plus one)
// while `jerrylock clean` runs in a loop on the lock directory. Any overlap
// shows up in the breach log and as a lost increment.
import { afterEach, describe, expect, test } from "bun:test";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { hasPyFilelock, needs } from "../helpers/require.ts";
import {
  createWorld,
  FIXTURES,
  JERRYLOCK,
  PYTHON,
  readBreaches,
  readCounter,
  runWorkers,
  startCleanLoop,
  STRESS_PROCESSES,
  STRESS_ROUNDS,
  type StressWorld,
} from "./fixtures/stress-harness.ts";

/**
 * Generous bound per test. One critical section through `jerrylock with`
 * took about 33 ms on an idle two-core VM; the bound allows 100 ms.
 */
const TEST_TIMEOUT_MS = 60_000 + STRESS_PROCESSES * STRESS_ROUNDS * 100;

const worlds: StressWorld[] = [];
afterEach(() => {
  for (const world of worlds.splice(0)) rmSync(world.root, { recursive: true, force: true });
});

function withWorker(world: StressWorld): string[] {
  return ["/bin/sh", join(FIXTURES, "stress-with-worker.sh"), JERRYLOCK, world.lockfile, world.data, String(STRESS_ROUNDS)];
}

function libraryWorker(world: StressWorld): string[] {
  return [process.execPath, join(FIXTURES, "stress-lib-worker.ts"), world.lockfile, world.data, String(STRESS_ROUNDS)];
}

function filelockWorker(world: StressWorld): string[] {
  return [PYTHON, join(FIXTURES, "stress-filelock-worker.py"), world.lockfile, world.data, String(STRESS_ROUNDS)];
}

/** Runs the workers while clean loops with `cleanArgs`, and checks that the counter is exact. */
async function stress(world: StressWorld, workers: string[][], cleanArgs: string[]) {
  const cleanLoop = startCleanLoop(JERRYLOCK, world.lockDir, cleanArgs);
  const result = await runWorkers(workers);
  const cleaning = await cleanLoop.stop();

  expect(result.stderr.join("")).toBe("");
  expect(result.statuses).toEqual(workers.map(() => 0));
  expect(readBreaches(world)).toEqual([]);
  expect(readCounter(world)).toBe(workers.length * STRESS_ROUNDS);
  expect(cleaning.failures).toEqual([]);
  expect(cleaning.runs).toBeGreaterThan(0);
  return cleaning;
}

describe(`stress, ${STRESS_PROCESSES} processes x ${STRESS_ROUNDS} rounds`, () => {
  test(
    "with clients while clean --max-age 0 loops",
    async () => {
      const world = createWorld("stress-with");
      worlds.push(world);

      await stress(world, Array.from({ length: STRESS_PROCESSES }, () => withWorker(world)), ["--max-age", "0"]);

      expect(readdirSync(world.lockDir)).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "library clients while clean --max-age 0 loops",
    async () => {
      const world = createWorld("stress-lib");
      worlds.push(world);

      await stress(world, Array.from({ length: STRESS_PROCESSES }, () => libraryWorker(world)), ["--max-age", "0"]);

      expect(readdirSync(world.lockDir)).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "with and library clients together",
    async () => {
      const world = createWorld("stress-mixed");
      worlds.push(world);
      const half = STRESS_PROCESSES / 2;
      const workers = [...Array.from({ length: half }, () => withWorker(world)), ...Array.from({ length: STRESS_PROCESSES - half }, () => libraryWorker(world))];

      await stress(world, workers, ["--max-age", "0"]);

      expect(readdirSync(world.lockDir)).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  if (needs("py-filelock for /usr/bin/python3", "python3-filelock", hasPyFilelock())) {
    test(
      "py-filelock clients while clean loops with the default age",
      async () => {
        const world = createWorld("stress-filelock");
        worlds.push(world);

        await stress(world, Array.from({ length: STRESS_PROCESSES }, () => filelockWorker(world)), []);

        // py-filelock keeps its file after release, and clean keeps it
        // because each open truncates it, so it is never older than --max-age.
        expect(readdirSync(world.lockDir)).toEqual(["counter.lock"]);
      },
      TEST_TIMEOUT_MS,
    );
  }
});
