import { describe, expect, test } from "bun:test";
import { formatDuration, parseDuration } from "../../src/core/duration.ts";

describe("parseDuration", () => {
  test("reads a bare number as seconds", () => {
    expect(parseDuration("300")).toBe(300_000);
  });

  test("reads a fractional bare number as seconds", () => {
    expect(parseDuration("1.5")).toBe(1500);
  });

  test("reads seconds", () => {
    expect(parseDuration("300s")).toBe(300_000);
  });

  test("reads minutes", () => {
    expect(parseDuration("5m")).toBe(300_000);
  });

  test("reads hours", () => {
    expect(parseDuration("1h")).toBe(3_600_000);
  });

  test("reads milliseconds", () => {
    expect(parseDuration("250ms")).toBe(250);
  });

  test("reads zero", () => {
    expect(parseDuration("0")).toBe(0);
  });

  test("ignores surrounding spaces", () => {
    expect(parseDuration(" 5m ")).toBe(300_000);
  });

  test("rejects an empty string", () => {
    expect(parseDuration("")).toBeNull();
  });

  test("rejects an unknown unit", () => {
    expect(parseDuration("5x")).toBeNull();
  });

  test("rejects a negative value", () => {
    expect(parseDuration("-5m")).toBeNull();
  });

  test("rejects a unit without a number", () => {
    expect(parseDuration("m")).toBeNull();
  });

  test("rejects words", () => {
    expect(parseDuration("five minutes")).toBeNull();
  });

  test("rejects two values", () => {
    expect(parseDuration("1h30m")).toBeNull();
  });
});

describe("formatDuration", () => {
  test("shows milliseconds below a second", () => {
    expect(formatDuration(850)).toBe("850ms");
  });

  test("shows zero as 0ms", () => {
    expect(formatDuration(0)).toBe("0ms");
  });

  test("clamps a negative value to 0ms", () => {
    expect(formatDuration(-20)).toBe("0ms");
  });

  test("shows seconds", () => {
    expect(formatDuration(12_000)).toBe("12s");
  });

  test("shows minutes", () => {
    expect(formatDuration(300_000)).toBe("5m");
  });

  test("shows hours", () => {
    expect(formatDuration(3 * 3_600_000)).toBe("3h");
  });

  test("shows days", () => {
    expect(formatDuration(2 * 86_400_000)).toBe("2d");
  });
});
