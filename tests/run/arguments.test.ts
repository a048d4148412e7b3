import { describe, expect, test } from "bun:test";
import { UsageError } from "../../src/cli/command.ts";
import { parseRunArguments } from "../../src/cli/run.ts";

describe("parseRunArguments", () => {
  test("splits at --", () => {
    expect(parseRunArguments(["--lock-dir", "a", "--lock-dir", "b", "-v", "--", "cmd", "--flag"])).toMatchObject({
      command: ["cmd", "--flag"],
      lockDirs: ["a", "b"],
      verbose: true,
      gc: true,
    });
  });

  test("splits at the first positional without --", () => {
    expect(parseRunArguments(["--grace", "5", "cmd", "-v"])).toMatchObject({ command: ["cmd", "-v"], graceMs: 5000, verbose: false });
  });

  test("reads durations", () => {
    expect(parseRunArguments(["--grace", "500ms", "--", "x"])).toMatchObject({ graceMs: 500 });
    expect(parseRunArguments(["--grace", "2m", "--", "x"])).toMatchObject({ graceMs: 120_000 });
  });

  test("defaults grace to 10 seconds", () => {
    expect(parseRunArguments(["--", "x"])).toMatchObject({ graceMs: 10_000 });
  });

  test("--no-gc turns the start-up pass off", () => {
    expect(parseRunArguments(["--no-gc", "--", "x"])).toMatchObject({ gc: false });
  });

  test("rejects bad input", () => {
    expect(() => parseRunArguments(["--grace", "soon", "--", "x"])).toThrow(UsageError);
    expect(() => parseRunArguments(["--"])).toThrow(UsageError);
    expect(() => parseRunArguments(["--bogus", "--", "x"])).toThrow(UsageError);
  });
});
