// Inputs of the cleaner rounds: old, empty lock files, created afresh for each
// round, with 1% of them held by long-lived holder processes.
//
// Each file count has one directory that every round empties and refills.
// On a disk, refilling an emptied directory was about 10 times as fast as
// filling a new one (ext4, measured with 10k files).
import { closeSync, futimesSync, lstatSync, mkdirSync, openSync, readdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";

/** Lock kinds the holders take, in turn; "open" keeps the file open with no lock, as a blocked lockf waiter does. */
export const HOLD_KINDS = ["flock", "posix", "ofd", "open"] as const;
export type HoldKind = (typeof HOLD_KINDS)[number];

const HOLDER_COUNT = 2;
/** Lock files are an hour old, well past the 5-minute threshold every cleaner uses. */
const AGE_MS = 60 * 60 * 1000;
export const THRESHOLD_MINUTES = 5;

export interface HeldFile {
  name: string;
  kind: HoldKind;
  ino: bigint;
}

export interface RoundInput {
  dir: string;
  count: number;
  held: HeldFile[];
}

export interface RoundCheck {
  /** Held files whose name still points at the held inode. */
  heldKept: number;
  /** Held files gone or replaced, per lock kind. */
  heldRemoved: Partial<Record<HoldKind, number>>;
  /** Unheld files the cleaner left behind. */
  staleLeft: number;
}

/** Reads stdout of a child line by line. */
class LineReader {
  private buffer = "";
  private readonly reader: { read(): Promise<{ done: boolean; value?: Uint8Array }> };
  private readonly decoder = new TextDecoder();

  constructor(stream: ReadableStream<Uint8Array>) {
    this.reader = stream.getReader();
  }

  async next(): Promise<string | null> {
    for (;;) {
      const newline = this.buffer.indexOf("\n");
      if (newline >= 0) {
        const line = this.buffer.slice(0, newline);
        this.buffer = this.buffer.slice(newline + 1);
        return line;
      }
      const chunk = await this.reader.read();
      if (chunk.done || chunk.value === undefined) return null;
      this.buffer += this.decoder.decode(chunk.value, { stream: true });
    }
  }
}

interface Holder {
  process: Subprocess<"pipe", "pipe", "inherit">;
  lines: LineReader;
}

/** Python processes that hold lock files between rounds; stop() must run in a finally. */
export class Holders {
  private readonly holders: Holder[] = [];

  constructor(private readonly script: string) {}

  async start(): Promise<void> {
    for (let index = 0; index < HOLDER_COUNT; index++) {
      const process = Bun.spawn(["/usr/bin/python3", this.script], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
      const holder = { process, lines: new LineReader(process.stdout) };
      this.holders.push(holder);
      await this.expect(holder, "ready");
    }
  }

  pids(): number[] {
    return this.holders.map((holder) => holder.process.pid);
  }

  /** Opens and locks every held file of a round, spread over the holders; returns when all report ready. */
  async hold(dir: string, held: HeldFile[]): Promise<void> {
    for (const [index, holder] of this.holders.entries()) {
      for (const kind of HOLD_KINDS) {
        const names = held.filter((file, position) => position % this.holders.length === index && file.kind === kind);
        if (names.length === 0) continue;
        holder.process.stdin.write(`hold ${dir} ${kind} ${names.map((file) => file.name).join(" ")}\n`);
        holder.process.stdin.flush();
        await this.expect(holder, "ready");
      }
    }
  }

  async release(): Promise<void> {
    for (const holder of this.holders) {
      holder.process.stdin.write("release\n");
      holder.process.stdin.flush();
      await this.expect(holder, "released");
    }
  }

  stop(): void {
    for (const holder of this.holders) {
      holder.process.kill("SIGKILL");
    }
    this.holders.length = 0;
  }

  private async expect(holder: Holder, word: string): Promise<void> {
    const line = await holder.lines.next();
    if (line === null || !line.startsWith(`${word} `)) {
      throw new Error(`Holder ${holder.process.pid} printed "${line}" instead of "${word} PID": see its stderr above`);
    }
  }
}

export function lockName(index: number): string {
  return `session-${String(index).padStart(6, "0")}.lock`;
}

/** Fills `dir` (created if missing) with `count` empty lock files an hour old; every 100th is marked held. */
export function prepareRound(dir: string, count: number): RoundInput {
  mkdirSync(dir, { recursive: true });
  const leftover = readdirSync(dir).length;
  if (leftover > 0) throw new Error(`Input directory "${dir}" still has ${leftover} entries: the previous round was not emptied`);
  const old = new Date(Date.now() - AGE_MS);
  const held: HeldFile[] = [];

  for (let index = 0; index < count; index++) {
    const name = lockName(index);
    const fd = openSync(join(dir, name), "w", 0o644);
    futimesSync(fd, old, old);
    closeSync(fd);
    if (index % 100 === 0) {
      const kind = HOLD_KINDS[held.length % HOLD_KINDS.length] as HoldKind;
      held.push({ name, kind, ino: lstatSync(join(dir, name), { bigint: true }).ino });
    }
  }
  return { dir, count, held };
}

/** Counts which held files survived and which stale files were left. */
export function checkRound(input: RoundInput): RoundCheck {
  const heldRemoved: Partial<Record<HoldKind, number>> = {};
  let heldKept = 0;
  for (const file of input.held) {
    let ino: bigint | null = null;
    try {
      ino = lstatSync(join(input.dir, file.name), { bigint: true }).ino;
    } catch {
      ino = null;
    }
    if (ino === file.ino) heldKept++;
    else heldRemoved[file.kind] = (heldRemoved[file.kind] ?? 0) + 1;
  }
  const remaining = readdirSync(input.dir).length;
  return { heldKept, heldRemoved, staleLeft: remaining - heldKept };
}

/** Removes every file of a round, keeping the directory for the next one. */
export function emptyRound(input: RoundInput): void {
  for (const name of readdirSync(input.dir)) unlinkSync(join(input.dir, name));
}
