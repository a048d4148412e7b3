import { describe, expect, test } from "bun:test";
import type { ProcessControl, ReapResult } from "../../src/platform/types.ts";
import { createRunLog } from "../../src/run/log.ts";
import { Reaper } from "../../src/run/reaper.ts";

const SELF = 100;
const COMMAND = 200;

/** A process tree: jerrylock (100) has the command (200) and an orphan (300); the command has 201. */
function treeControl(exited: Set<number>, reaped: number[]): ProcessControl {
  const children: Record<number, number[]> = { [SELF]: [COMMAND, 300], [COMMAND]: [201], 300: [], 201: [] };
  return {
    os: "linux",
    hasSignals: true,
    becomeSubreaper: () => true,
    listChildren: (pid) => children[pid] ?? [],
    reapIfExited(pid): ReapResult {
      if (!exited.has(pid)) return "running";
      reaped.push(pid);
      return "reaped";
    },
    sendSignal: () => true,
    isTerminalForeground: () => false,
    watchExitCode: () => null,
    exit: () => {
      throw new Error("exit");
    },
  };
}

describe("Reaper", () => {
  test("never waits for the command", () => {
    const reaped: number[] = [];
    const reaper = new Reaper(treeControl(new Set([COMMAND, 300]), reaped), SELF, createRunLog(false));
    reaper.start(COMMAND);
    reaper.sweep();
    reaper.dispose();
    expect(reaped).toEqual([300]);
  });

  test("records every pid of the tree", () => {
    const reaper = new Reaper(treeControl(new Set(), []), SELF, createRunLog(false));
    reaper.start(COMMAND);
    expect(reaper.sweep()).toEqual([300, 201]);
    reaper.dispose();
    expect([...reaper.runPids].sort()).toEqual([200, 201, 300]);
  });

  test("keeps reaped orphans in the run's pids", () => {
    const reaper = new Reaper(treeControl(new Set([300]), []), SELF, createRunLog(false));
    reaper.start(COMMAND);
    expect(reaper.sweep()).toEqual([201]);
    reaper.dispose();
    expect(reaper.runPids.has(300)).toBe(true);
  });
});
