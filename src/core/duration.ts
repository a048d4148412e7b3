import ms from "ms";

/**
 * Parses a duration such as "300", "300s", "5m" or "1h" into milliseconds.
 * A bare number is seconds, as in timeout(1); the units are ms, s, m, h and d.
 * Returns null for invalid input.
 */
export function parseDuration(text: string): number | null {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  if (!/^\d+(\.\d+)?(ms|s|m|h|d)$/.test(trimmed)) return null;

  const value = ms(trimmed as ms.StringValue);
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : null;
}

/** Formats milliseconds as a short human duration: "850ms", "12s", "5m", "3h", "2d". */
export function formatDuration(milliseconds: number): string {
  if (milliseconds < 1000) return `${Math.max(0, Math.round(milliseconds))}ms`;
  // ms() rounds to whole units, which would print 1500ms as "2s".
  if (milliseconds < 10_000 && milliseconds % 1000 !== 0) return `${(milliseconds / 1000).toFixed(1)}s`;
  return ms(Math.round(milliseconds));
}
