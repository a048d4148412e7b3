// Argument handling of `npm run bench` only; the bench itself measures time
// and has no place in the test suite.
import { describe, expect, test } from "bun:test";
import { BenchUsageError, parseBenchArgs } from "../../scripts/bench/options.ts";

const WORK = "/tmp/bench-work";

describe("parseBenchArgs", () => {
  test("full run by default", () => {
    const options = parseBenchArgs([], WORK);
    expect(options.quick).toBe(false);
    expect(options.sizes).toEqual([1_000, 10_000, 100_000]);
    expect(options.runs).toBe(5);
    expect(options.workDir).toBe(WORK);
    expect(options.page).toBe("docs/BENCHMARKS.md");
    expect(options.chart).toBe("docs/benchmarks.svg");
    expect(options.write).toBe(true);
  });

  test("quick drops 100k files and rounds", () => {
    const options = parseBenchArgs(["--quick"], WORK);
    expect(options.sizes).toEqual([1_000, 10_000]);
    expect(options.runs).toBe(3);
    expect(options.startRuns).toBe(20);
    expect(options.maxSeconds).toBe(90);
  });

  test("explicit values win over quick", () => {
    const options = parseBenchArgs(["--quick", "--runs", "7", "--sizes", "5000"], WORK);
    expect(options.runs).toBe(7);
    expect(options.sizes).toEqual([5_000]);
  });

  test("sizes are sorted and deduplicated", () => {
    expect(parseBenchArgs(["--sizes", "10000, 1000,10000"], WORK).sizes).toEqual([1_000, 10_000]);
  });

  test("no-write and paths", () => {
    const options = parseBenchArgs(["--no-write", "--page", "out.md", "--chart", "out.svg", "--jerrylock", "bin/j"], WORK);
    expect(options.write).toBe(false);
    expect(options.page).toBe("out.md");
    expect(options.chart).toBe("out.svg");
    expect(options.jerrylock).toBe("bin/j");
  });

  test("variants are label and path", () => {
    const options = parseBenchArgs(["--variant", "before=/tmp/old", "--variant", "bytecode=dist/j=x"], WORK);
    expect(options.variants).toEqual([
      { label: "before", path: "/tmp/old" },
      { label: "bytecode", path: "dist/j=x" },
    ]);
    expect(parseBenchArgs([], WORK).variants).toEqual([]);
  });

  test("help flag", () => {
    expect(parseBenchArgs(["-h"], WORK).help).toBe(true);
  });

  const invalid: [string, string[], RegExp][] = [
    ["zero runs", ["--runs", "0"], /invalid --runs "0"/],
    ["fractional runs", ["--runs", "1.5"], /invalid --runs "1.5"/],
    ["size too small to hold 1%", ["--sizes", "50"], /at least 100/],
    ["size that is no number", ["--sizes", "1k"], /invalid --sizes "1k"/],
    ["unknown option", ["--fast"], /--fast/],
    ["positional argument", ["extra"], /extra/],
    ["variant without a path", ["--variant", "before"], /invalid --variant "before"/],
  ];
  for (const [name, argv, message] of invalid) {
    test(`rejects ${name}`, () => {
      expect(() => parseBenchArgs(argv, WORK)).toThrow(BenchUsageError);
      expect(() => parseBenchArgs(argv, WORK)).toThrow(message);
    });
  }
});
