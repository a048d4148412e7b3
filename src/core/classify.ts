// Verdict rules: one verdict per file, tried in the order of VERDICTS, the
// first that fits wins. Nothing here takes a lock or a lease, so `ls` and
// `--dry-run` can call it freely; `clean` re-checks inside the removal protocol.
import type { DirHandle, FileStat, HeldCheck, HostIdentity, LockHolder, OpenCheck, Platform, ProbeScan } from "../platform/types.ts";
import { LIMITS } from "./defaults.ts";
import { printableText } from "./display.ts";
import { formatDuration } from "./duration.ts";
import { parseOwnerRecord, type OwnerRecord } from "./owner-record.ts";
import type { Verdict } from "./verdicts.ts";

/** One directory entry that matched the pattern. */
export interface LockEntry {
  dir: DirHandle;
  name: Uint8Array;
  /** Path for messages and --json, with unprintable bytes escaped. */
  displayPath: string;
  stat: FileStat;
}

/** Processes of a `jerrylock run`: files they wrote are removable once the run has ended. */
export interface RunScope {
  startedAtMs: number;
  /** Pids of the run's processes, all gone when the cleanup runs. */
  pids: ReadonlySet<number>;
}

export interface Decision {
  verdict: Verdict;
  reason: string;
  /** Holder or owner pid, when one is known. */
  pid: number | null;
  command: string | null;
  ageSeconds: number;
}

export interface ClassifyContext {
  platform: Platform;
  scan: ProbeScan;
  host: HostIdentity;
  now: number;
  maxAgeMs: number;
  runScope?: RunScope;
  /**
   * Whether to ask the scan if another process has the file open. clean
   * (without --dry-run) skips it, because the removal protocol proves the same
   * atomically with a lease; a kept file then shows another kept verdict.
   */
  checkOpen: boolean;
}

/** Decides the verdict of one entry; returns null when the file vanished meanwhile. */
export function classify(entry: LockEntry, context: ClassifyContext): Decision | null {
  const { stat } = entry;
  const ageMs = context.now - stat.mtimeMs;
  // Reasons quote record content and process names, which are untrusted text.
  const decide = (verdict: Verdict, reason: string, pid: number | null = null, command: string | null = null): Decision => ({
    verdict,
    reason: printableText(reason),
    pid,
    command: command === null ? null : printableText(command),
    ageSeconds: Math.max(0, Math.floor(ageMs / 1000)),
  });

  // not-a-lock: decided from metadata first, so nothing odd is ever opened.
  if (stat.kind !== "file") return decide("not-a-lock", kindReason(stat));
  if (stat.nlink > 1) {
    // Removing this name would not remove the file, and clean would lock a file that another name, perhaps outside DIR, refers to.
    return decide("not-a-lock", `has ${stat.nlink} hard links, so other names refer to the same file`);
  }
  if (stat.size > LIMITS.recordMaxBytes) {
    return decide("not-a-lock", `${stat.size} bytes, larger than the ${LIMITS.recordMaxBytes}-byte limit for owner records`);
  }

  let content: Uint8Array = new Uint8Array(0);
  if (stat.size > 0) {
    let read: Uint8Array | null;
    try {
      read = context.platform.readAt(entry.dir, entry.name, stat, LIMITS.recordMaxBytes);
    } catch (error) {
      // Windows byte-range locks block reads too, so a locked record is unreadable; the lock decides.
      const held = context.scan.held(stat, entry.name, entry.dir);
      if (held.state === "held") return heldDecision(held, context, decide, entry);
      throw error;
    }
    if (read === null) return null;
    content = read;
  }
  const parsed = parseOwnerRecord(content, context.platform.maxPid);
  const recordTooYoung = ageMs < LIMITS.recordSettleMs;
  if (parsed.kind === "unrecognised" && !(recordTooYoung && looksUnfinished(content))) {
    return decide("not-a-lock", parsed.reason);
  }

  // held: the lock table entry decides; its pid only names who took the lock.
  const held = context.scan.held(stat, entry.name, entry.dir);
  if (held.state === "held") return heldDecision(held, context, decide, entry);

  // open: a waiter that opened the file before locking it must not lose it.
  const open: OpenCheck = context.checkOpen ? context.scan.open(stat, entry.name, entry.dir) : { state: "closed", method: "the removal protocol's lease" };
  if (open.state === "open") {
    const pid = open.pids[0] ?? null;
    const command = pid === null ? null : (context.platform.inspectProcess(pid).command ?? null);
    return decide("open", `open by ${describePids(open.pids)} (checked with ${open.method})`, pid, command);
  }

  const caveats = [held.state === "unknown" ? `lock state unknown: ${held.reason}` : "", open.state === "unknown" ? `open state unknown: ${open.reason}` : ""]
    .filter((text) => text !== "")
    .join("; ");
  const withCaveats = (reason: string): string => (caveats === "" ? reason : `${reason}; ${caveats}`);

  if (parsed.kind === "partial" && !recordTooYoung) {
    return decide("not-a-lock", withCaveats(`content is unterminated JSON, ${formatDuration(ageMs)} old, so no writer is finishing it`));
  }
  if (parsed.kind === "partial" || (parsed.kind === "unrecognised" && recordTooYoung)) {
    return decide("fresh", withCaveats(`owner record is still being written (${formatDuration(ageMs)} old)`));
  }
  if (parsed.kind === "record" && parsed.record.pid > 0) {
    // The run's processes are all gone, so an unfinished record of theirs never will be finished.
    const writtenByRun = context.runScope?.pids.has(parsed.record.pid) === true;
    if (!parsed.terminated && recordTooYoung && !writtenByRun) {
      return decide("fresh", withCaveats(`owner record has no final newline yet (${formatDuration(ageMs)} old), so it may still be being written`), parsed.record.pid);
    }
    const byRecord = decideByRecord(parsed.record, stat, context.platform, context.host, context.runScope, decide);
    return { ...byRecord, reason: withCaveats(byRecord.reason) };
  }

  if (parsed.kind === "record" && parsed.record.host !== undefined && parsed.record.host !== context.host.hostname) {
    return decide("foreign", withCaveats(`owner record names host "${parsed.record.host}", not this host "${context.host.hostname}"`));
  }

  // No owner: an empty file, or a record naming pid 0.
  const what = parsed.kind === "record" ? "owner record names no process (pid 0)" : "no owner record";
  if (context.runScope !== undefined && stat.mtimeMs >= context.runScope.startedAtMs) {
    return decide("orphan", withCaveats(`${what}, written during the run, not held, not open`));
  }
  if (ageMs < context.maxAgeMs) {
    return decide("fresh", withCaveats(`${what}, ${formatDuration(ageMs)} old, younger than --max-age ${formatDuration(context.maxAgeMs)}`));
  }
  return decide("orphan", withCaveats(`${what}, not held, not open, ${formatDuration(ageMs)} old`));
}

type Decide = (verdict: Verdict, reason: string, pid?: number | null, command?: string | null) => Decision;

/**
 * Applies the owner-record rules alone (live-owner, stale, foreign, error),
 * for `with` and the library, which must not take over a file that a live
 * process owns through its record even when it holds no OS lock.
 */
export function judgeOwnerRecord(record: OwnerRecord, stat: FileStat, platform: Platform, host: HostIdentity): Decision {
  const decide: Decide = (verdict, reason, pid = null, command = null) => ({
    verdict,
    reason: printableText(reason),
    pid,
    command: command === null ? null : printableText(command),
    ageSeconds: Math.max(0, Math.floor((platform.now() - stat.mtimeMs) / 1000)),
  });
  return decideByRecord(record, stat, platform, host, undefined, decide);
}

function decideByRecord(record: OwnerRecord, stat: FileStat, platform: Platform, host: HostIdentity, runScope: RunScope | undefined, decide: Decide): Decision {
  const pid = record.pid;

  if (record.host !== undefined && record.host !== host.hostname) {
    return decide("foreign", `owner record names host "${record.host}", not this host "${host.hostname}"`, pid);
  }
  if (record.bootId !== undefined && host.bootId !== undefined && record.bootId !== host.bootId) {
    return decide("stale", `owner pid ${pid} ran in an earlier boot of this machine`, pid);
  }
  if (record.pidNamespace !== undefined && host.pidNamespace !== undefined && record.pidNamespace !== host.pidNamespace) {
    return decide("foreign", `owner record names pid namespace ${record.pidNamespace}, not this one (${host.pidNamespace})`, pid);
  }
  if (runScope?.pids.has(pid)) {
    return decide("stale", `owner pid ${pid} belonged to the run, which has ended`, pid);
  }

  const info = platform.inspectProcess(pid);
  const command = info.command ?? null;
  if (info.liveness === "dead") return decide("stale", `owner pid ${pid} is dead`, pid);
  if (info.liveness === "unknown") {
    return decide("error", `cannot tell whether owner pid ${pid} is alive: ${info.detail ?? "no detail"}`, pid, command);
  }

  const who = `owner pid ${pid}${command === null ? "" : ` (${command})`}`;
  if (record.startId !== undefined && info.startId !== undefined) {
    return record.startId === info.startId
      ? decide("live-owner", `${who} is alive`, pid, command)
      : decide("stale", `${who} is alive but is another process than the one that wrote the record (pid reused)`, pid, command);
  }
  if (info.startTimeMs === undefined) {
    return decide("live-owner", `${who} is alive; its start time is unreadable, so pid reuse cannot be ruled out`, pid, command);
  }
  if (info.startTimeMs > stat.mtimeMs + LIMITS.pidReuseMarginMs) {
    const gap = formatDuration(info.startTimeMs - stat.mtimeMs);
    return decide("stale", `${who} started ${gap} after the file was written (pid reused)`, pid, command);
  }
  if (info.startTimeMs > stat.mtimeMs) {
    const gap = formatDuration(info.startTimeMs - stat.mtimeMs);
    return decide("live-owner", `${who} is alive; it started ${gap} after the file was written, within the ${formatDuration(LIMITS.pidReuseMarginMs)} that start times are known to, so it counts as the owner`, pid, command);
  }
  return decide("live-owner", `${who} is alive and started before the file was written`, pid, command);
}

function heldDecision(held: Extract<HeldCheck, { state: "held" }>, context: ClassifyContext, decide: Decide, entry: LockEntry): Decision {
  const holder = held.holders.find((candidate) => candidate.pid !== null && candidate.pid > 0) ?? held.holders[0];
  const kind = describeHolder(holder);
  if (holder?.pid == null || holder.pid <= 0) return decide("held", `${kind} held (checked with ${held.method})`);

  const info = context.platform.inspectProcess(holder.pid);
  if (info.liveness === "dead") {
    // The lock outlives the pid that took it when a child inherited the
    // descriptor. Where the open-file scan runs (ls, --dry-run), it names
    // the processes that have the file open now, the inheritor among them.
    const dead = `pid ${holder.pid}, which took it, has exited`;
    const open = context.checkOpen ? context.scan.open(entry.stat, entry.name, entry.dir) : undefined;
    const inheritor = open?.state === "open" ? open.pids[0] : undefined;
    if (inheritor === undefined) {
      return decide("held", `${kind} held through an inherited descriptor: ${dead} (checked with ${held.method})`, holder.pid);
    }
    const command = context.platform.inspectProcess(inheritor).command ?? null;
    const by = command === null ? `pid ${inheritor}` : `pid ${inheritor} (${command})`;
    return decide("held", `${kind} held through a descriptor inherited by ${by}: ${dead} (checked with ${held.method})`, inheritor, command);
  }
  const command = info.command ?? null;
  const by = command === null ? `pid ${holder.pid}` : `pid ${holder.pid} (${command})`;
  return decide("held", `${kind} held by ${by} (checked with ${held.method})`, holder.pid, command);
}

function describeHolder(holder: LockHolder | undefined): string {
  if (holder === undefined) return "a lock is";
  const names: Record<LockHolder["kind"], string> = {
    flock: "flock",
    posix: "POSIX record lock",
    ofd: "OFD lock",
    lease: "lease",
    windows: "byte-range lock",
    record: "owner record",
  };
  return `${names[holder.kind]} (${holder.mode})`;
}

function describePids(pids: number[]): string {
  if (pids.length === 0) return "another process";
  const shown = pids.slice(0, 3).join(", ");
  return pids.length > 3 ? `pid ${shown} and ${pids.length - 3} more` : `pid ${shown}`;
}

function kindReason(stat: FileStat): string {
  switch (stat.kind) {
    case "symlink":
      return "symlink; never followed";
    case "directory":
      return "directory; never descended into";
    case "fifo":
      return "fifo; never opened";
    case "socket":
      return "socket; never opened";
    case "char-device":
    case "block-device":
      return "device; never opened";
    default:
      return "not a regular file";
  }
}

// A writer that has started a JSON record but not finished it.
function looksUnfinished(content: Uint8Array): boolean {
  const text = Buffer.from(content).toString("latin1");
  return text.trimStart().startsWith("{") && !text.endsWith("\n");
}
