import { describe, expect, test } from "bun:test";
import { exitStatusOf } from "../../src/run/exit-status.ts";

describe("exitStatusOf", () => {
  test("passes an exit code through", () => {
    expect(exitStatusOf({ exitCode: 3, signalCode: null })).toBe(3);
  });

  test("maps signals to 128+N", () => {
    expect(exitStatusOf({ exitCode: null, signalCode: "SIGKILL" })).toBe(137);
    expect(exitStatusOf({ exitCode: null, signalCode: "SIGSEGV" })).toBe(139);
    expect(exitStatusOf({ exitCode: null, signalCode: "SIGTERM" })).toBe(143);
    expect(exitStatusOf({ exitCode: null, signalCode: 9 })).toBe(137);
  });

  test("never returns 0 for an unknown signal", () => {
    expect(exitStatusOf({ exitCode: null, signalCode: "SIGNOSUCH" })).toBeGreaterThanOrEqual(128);
  });

  test("prefers the full Windows code", () => {
    expect(exitStatusOf({ exitCode: 5, signalCode: null, fullExitCode: 0xc0000005 })).toBe(3221225477);
  });
});
