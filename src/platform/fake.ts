// An in-memory Platform for unit tests of the core, the commands and the
// macOS and Windows rules. Tests build a world of directories, files, lock
// holders, openers and processes, inject errors or races at any call, and read
// back the calls the code under test made, in order.
import type {
  CandidateHandle,
  DirHandle,
  FileKind,
  FileStat,
  HeldCheck,
  HostIdentity,
  LockAttempt,
  LockHolder,
  OpenCheck,
  Platform,
  ProbeScan,
  ProcessInfo,
} from "./types.ts";
import { PlatformError } from "./types.ts";

/** Device key of every fake file unless a test sets another. */
export const FAKE_DEV = "0:42";

/** Setup of one fake directory entry; every field has a plain default. */
export interface FakeFileSpec {
  /** Default "file". */
  kind?: FileKind;
  /** Default empty. */
  content?: Uint8Array | string;
  /** Default `now()` of the platform when the file is added. */
  mtimeMs?: number;
  uid?: number;
  nlink?: number;
  dev?: string;
  /** Default: the next free inode number. */
  ino?: bigint;
  /** OS locks other processes hold on the file. */
  holders?: LockHolder[];
  /** Pids of other processes that have the file open. */
  openers?: number[];
  /** Replaces the held probe's answer, for example to return "unknown". */
  heldCheck?: HeldCheck;
  /** Replaces the open probe's answer, for example to return "unknown". */
  openCheck?: OpenCheck;
}

/** One fake inode; tests may change any field while the code under test runs. */
export interface FakeFile {
  kind: FileKind;
  content: Uint8Array;
  mtimeMs: number;
  uid: number;
  nlink: number;
  dev: string;
  ino: bigint;
  holders: LockHolder[];
  openers: number[];
  heldCheck?: HeldCheck;
  openCheck?: OpenCheck;
}

/** Setup of one fake process; absent pids are dead. */
export interface FakeProcessSpec {
  liveness: ProcessInfo["liveness"];
  detail?: string;
  startTimeMs?: number;
  startId?: string;
  command?: string;
}

/** One recorded call of a Platform method, with the entry name where it has one. */
export interface FakeCall {
  method: keyof Platform | "scan.held" | "scan.open";
  /** Directory path for directory calls, entry name for file calls. */
  path?: string;
  pid?: number;
}

/** A hook runs before the method body; throwing from it makes the call fail. */
export type FakeHook = (call: FakeCall) => void;

export interface FakePlatformOptions {
  os?: Platform["os"];
  target?: string;
  host?: HostIdentity;
  selfPid?: number;
  /** Initial clock value in ms since the epoch. */
  now?: number;
  maxPid?: number;
}

interface OpenCandidate {
  handle: CandidateHandle;
  dirPath: string;
  file: FakeFile;
  locked: boolean;
  /** Openers at beginSoleOpener; a later, longer list means someone opened the file. */
  soleOpenerArmed?: number;
  closed: boolean;
}

/** Text of a name as used for keys; latin1 keeps every byte of a non-UTF-8 name. */
function nameKey(name: Uint8Array | string): string {
  return typeof name === "string" ? Buffer.from(name, "utf8").toString("latin1") : Buffer.from(name).toString("latin1");
}

/** Printable form of a name for messages and the call log. */
function nameText(name: Uint8Array | string): string {
  return typeof name === "string" ? name : Buffer.from(name).toString("utf8");
}

function bytes(content: Uint8Array | string | undefined): Uint8Array {
  if (content === undefined) return new Uint8Array(0);
  return typeof content === "string" ? new TextEncoder().encode(content) : content;
}

export class FakePlatform implements Platform {
  readonly os: Platform["os"];
  readonly target: string;
  readonly maxPid: number;

  /** Every call the code under test made, in order. */
  readonly calls: FakeCall[] = [];

  private hostIdentity: HostIdentity;
  private pid: number;
  private clock: number;
  private nextIno = 1000n;
  private nextHandle = 3;
  private readonly dirs = new Map<string, Map<string, FakeFile>>();
  private readonly dirHandles = new Map<number, string>();
  private readonly candidates = new Map<number, OpenCandidate>();
  private readonly processes = new Map<number, FakeProcessSpec>();
  private readonly hooks = new Map<string, FakeHook[]>();

  constructor(options: FakePlatformOptions = {}) {
    this.os = options.os ?? "fake";
    this.target = options.target ?? "fake";
    this.maxPid = options.maxPid ?? 4_194_304;
    this.hostIdentity = options.host ?? { hostname: "fakehost", bootId: "fake-boot-1", pidNamespace: "pid:[4026531836]" };
    this.pid = options.selfPid ?? 4242;
    this.clock = options.now ?? Date.UTC(2026, 0, 1);
    this.processes.set(this.pid, { liveness: "alive", startTimeMs: this.clock - 1000, startId: "self", command: "jerrylock" });
  }

  // ---- World setup for tests ----

  /**
   * Adds an empty directory; adding an existing one keeps its entries. A
   * subdirectory for openSubdir is `addFile(parent, name, { kind: "directory" })`
   * plus `addDir(parent + "/" + name)` for its entries.
   */
  addDir(path: string): this {
    if (!this.dirs.has(path)) this.dirs.set(path, new Map());
    return this;
  }

  /** Adds or replaces one entry and returns its live inode object. */
  addFile(dirPath: string, name: string | Uint8Array, spec: FakeFileSpec = {}): FakeFile {
    this.addDir(dirPath);
    const file: FakeFile = {
      kind: spec.kind ?? "file",
      content: bytes(spec.content),
      mtimeMs: spec.mtimeMs ?? this.clock,
      uid: spec.uid ?? 0,
      nlink: spec.nlink ?? 1,
      dev: spec.dev ?? FAKE_DEV,
      ino: spec.ino ?? this.nextIno++,
      holders: spec.holders ?? [],
      openers: spec.openers ?? [],
      heldCheck: spec.heldCheck,
      openCheck: spec.openCheck,
    };
    this.entries(dirPath).set(nameKey(name), file);
    return file;
  }

  /** Returns the inode an entry names now, or undefined. */
  file(dirPath: string, name: string | Uint8Array): FakeFile | undefined {
    return this.dirs.get(dirPath)?.get(nameKey(name));
  }

  /** True when the entry exists. */
  exists(dirPath: string, name: string | Uint8Array): boolean {
    return this.file(dirPath, name) !== undefined;
  }

  /** Removes an entry as another process would; open handles keep the inode. */
  removeFile(dirPath: string, name: string | Uint8Array): void {
    const file = this.file(dirPath, name);
    if (file === undefined) return;
    this.entries(dirPath).delete(nameKey(name));
    file.nlink = Math.max(0, file.nlink - 1);
  }

  /** Names in one directory, sorted, as UTF-8 text. */
  names(dirPath: string): string[] {
    return [...this.entries(dirPath).keys()].map((key) => Buffer.from(key, "latin1").toString("utf8")).sort();
  }

  /** Sets what inspectProcess reports for `pid`. */
  setProcess(pid: number, spec: FakeProcessSpec): this {
    this.processes.set(pid, spec);
    return this;
  }

  /** Makes `pid` dead: inspectProcess then reports "dead". */
  removeProcess(pid: number): this {
    this.processes.delete(pid);
    return this;
  }

  setHost(host: HostIdentity): this {
    this.hostIdentity = host;
    return this;
  }

  setNow(ms: number): this {
    this.clock = ms;
    return this;
  }

  advance(ms: number): this {
    this.clock += ms;
    return this;
  }

  /** Runs `hook` before every call of `method`; remove it with the returned function. */
  on(method: FakeCall["method"], hook: FakeHook): () => void {
    const list = this.hooks.get(method) ?? [];
    list.push(hook);
    this.hooks.set(method, list);
    return () => {
      const index = list.indexOf(hook);
      if (index >= 0) list.splice(index, 1);
    };
  }

  /**
   * Makes the next `times` calls of `method` (default 1) throw `error`,
   * optionally only for calls on the entry or directory named `path`.
   */
  fail(method: FakeCall["method"], error: PlatformError, options: { times?: number; path?: string } = {}): this {
    let remaining = options.times ?? 1;
    const remove = this.on(method, (call) => {
      if (options.path !== undefined && call.path !== options.path) return;
      if (remaining <= 0) return;
      remaining -= 1;
      if (remaining === 0) remove();
      throw error;
    });
    return this;
  }

  /** Method names of the recorded calls, for asserting the protocol order. */
  methods(): string[] {
    return this.calls.map((call) => call.method);
  }

  /** Candidate handles not yet closed; a finished run leaves none. */
  openHandleCount(): number {
    return [...this.candidates.values()].filter((candidate) => !candidate.closed).length;
  }

  // ---- Platform ----

  host(): HostIdentity {
    this.record({ method: "host" });
    return { ...this.hostIdentity };
  }

  selfPid(): number {
    return this.pid;
  }

  now(): number {
    return this.clock;
  }

  openDir(path: string): DirHandle {
    this.record({ method: "openDir", path });
    if (!this.dirs.has(path)) throw new PlatformError("ENOENT", "open", path);
    const handle = this.nextHandle++;
    this.dirHandles.set(handle, path);
    return { path, handle };
  }

  openSubdir(dir: DirHandle, name: Uint8Array, displayPath: string): DirHandle {
    this.record({ method: "openSubdir", path: nameText(name) });
    const parent = this.dirPath(dir);
    const entry = this.entries(parent).get(nameKey(name));
    if (entry === undefined) throw new PlatformError("ENOENT", "open directory", displayPath);
    if (entry.kind === "symlink") throw new PlatformError("ELOOP", "open directory", displayPath);
    if (entry.kind !== "directory") throw new PlatformError("ENOTDIR", "open directory", displayPath);
    const path = `${parent}/${nameText(name)}`;
    this.addDir(path);
    const handle = this.nextHandle++;
    this.dirHandles.set(handle, path);
    return { path: displayPath, handle };
  }

  closeDir(dir: DirHandle): void {
    this.record({ method: "closeDir", path: dir.path });
    this.dirHandles.delete(dir.handle);
  }

  listDir(dir: DirHandle): Uint8Array[] {
    this.record({ method: "listDir", path: dir.path });
    return [...this.entries(this.dirPath(dir)).keys()].map((key) => new Uint8Array(Buffer.from(key, "latin1")));
  }

  statAt(dir: DirHandle, name: Uint8Array): FileStat | null {
    this.record({ method: "statAt", path: nameText(name) });
    const file = this.entries(this.dirPath(dir)).get(nameKey(name));
    return file === undefined ? null : statOf(file);
  }

  readAt(dir: DirHandle, name: Uint8Array, expected: FileStat, maxBytes: number): Uint8Array | null {
    this.record({ method: "readAt", path: nameText(name) });
    const file = this.entries(this.dirPath(dir)).get(nameKey(name));
    if (file === undefined) return null;
    if (file.kind === "symlink") throw new PlatformError("ELOOP", "open", nameText(name));
    if (file.kind !== "file") throw new PlatformError("EINVAL", "open", nameText(name), `not a regular file: ${file.kind}`);
    if (file.dev !== expected.dev || file.ino !== expected.ino) return null;
    return file.content.slice(0, maxBytes);
  }

  beginScan(dir: DirHandle): ProbeScan {
    this.record({ method: "beginScan", path: dir.path });
    const scanned = this.dirPath(dir);
    const find = (stat: FileStat, where: DirHandle | undefined): FakeFile | undefined => {
      const dirPath = where === undefined ? scanned : this.dirPath(where);
      return [...this.entries(dirPath).values()].find((file) => file.dev === stat.dev && file.ino === stat.ino);
    };
    return {
      held: (stat, name, where) => {
        this.record({ method: "scan.held", path: name === undefined ? undefined : nameText(name) });
        const file = find(stat, where);
        if (file?.heldCheck !== undefined) return file.heldCheck;
        const holders = file?.holders ?? [];
        return holders.length > 0 ? { state: "held", holders: [...holders], method: "fake" } : { state: "free", method: "fake" };
      },
      open: (stat, name, where) => {
        this.record({ method: "scan.open", path: name === undefined ? undefined : nameText(name) });
        const file = find(stat, where);
        if (file?.openCheck !== undefined) return file.openCheck;
        const pids = file?.openers ?? [];
        return pids.length > 0 ? { state: "open", pids: [...pids], method: "fake" } : { state: "closed", method: "fake" };
      },
    };
  }

  inspectProcess(pid: number): ProcessInfo {
    this.record({ method: "inspectProcess", pid });
    const spec = this.processes.get(pid);
    if (spec === undefined) return { liveness: "dead", detail: "no such process" };
    return { ...spec };
  }

  openCandidate(dir: DirHandle, name: Uint8Array): CandidateHandle | null {
    this.record({ method: "openCandidate", path: nameText(name) });
    const dirPath = this.dirPath(dir);
    const file = this.entries(dirPath).get(nameKey(name));
    if (file === undefined) return null;
    if (file.kind === "symlink") throw new PlatformError("ELOOP", "open", nameText(name));
    return this.track(dir, dirPath, name, file);
  }

  statHandle(handle: CandidateHandle): FileStat {
    this.record({ method: "statHandle", path: nameText(handle.name) });
    return statOf(this.candidate(handle).file);
  }

  tryLock(handle: CandidateHandle): LockAttempt {
    this.record({ method: "tryLock", path: nameText(handle.name) });
    const candidate = this.candidate(handle);
    const others = candidate.file.holders.filter((holder) => holder.pid !== this.pid);
    if (others.length > 0) return { state: "conflict", holders: others, method: "fake" };
    candidate.locked = true;
    return { state: "locked" };
  }

  beginSoleOpener(handle: CandidateHandle): OpenCheck {
    this.record({ method: "beginSoleOpener", path: nameText(handle.name) });
    const candidate = this.candidate(handle);
    const file = candidate.file;
    if (file.openCheck !== undefined && file.openCheck.state !== "closed") return file.openCheck;
    const others = file.openers.filter((pid) => pid !== this.pid);
    if (others.length > 0) return { state: "open", pids: others, method: "fake" };
    candidate.soleOpenerArmed = file.openers.length;
    return { state: "closed", method: "fake" };
  }

  unlinkHeld(handle: CandidateHandle): void {
    this.record({ method: "unlinkHeld", path: nameText(handle.name) });
    const candidate = this.candidate(handle);
    if (!candidate.locked) throw new Error(`fake: unlinkHeld on "${nameText(handle.name)}" without tryLock`);
    const entries = this.entries(candidate.dirPath);
    const current = entries.get(nameKey(handle.name));
    if (current === undefined) throw new PlatformError("ENOENT", "unlinkat", nameText(handle.name));
    // Like unlinkat(2), this removes whatever the name points to now; the
    // removal protocol must have proven that it is still the locked inode.
    entries.delete(nameKey(handle.name));
    current.nlink = Math.max(0, current.nlink - 1);
  }

  endSoleOpener(handle: CandidateHandle): boolean {
    this.record({ method: "endSoleOpener", path: nameText(handle.name) });
    const candidate = this.candidate(handle);
    const armed = candidate.soleOpenerArmed;
    candidate.soleOpenerArmed = undefined;
    return armed !== undefined && candidate.file.openers.length > armed;
  }

  closeCandidate(handle: CandidateHandle): void {
    this.record({ method: "closeCandidate", path: nameText(handle.name) });
    const candidate = this.candidate(handle);
    candidate.closed = true;
    candidate.locked = false;
  }

  createCandidate(dir: DirHandle, name: Uint8Array): CandidateHandle {
    this.record({ method: "createCandidate", path: nameText(name) });
    const dirPath = this.dirPath(dir);
    const existing = this.entries(dirPath).get(nameKey(name));
    if (existing?.kind === "symlink") throw new PlatformError("ELOOP", "open", nameText(name));
    const file = existing ?? this.addFile(dirPath, name);
    return this.track(dir, dirPath, name, file);
  }

  writeRecord(handle: CandidateHandle, content: Uint8Array): void {
    this.record({ method: "writeRecord", path: nameText(handle.name) });
    const file = this.candidate(handle).file;
    file.content = content.slice();
    file.mtimeMs = this.clock;
  }

  // ---- Internals ----

  private record(call: FakeCall): void {
    this.calls.push(call);
    for (const hook of [...(this.hooks.get(call.method) ?? [])]) hook(call);
  }

  private entries(dirPath: string): Map<string, FakeFile> {
    const entries = this.dirs.get(dirPath);
    if (entries === undefined) throw new PlatformError("ENOENT", "open", dirPath);
    return entries;
  }

  private dirPath(dir: DirHandle): string {
    const path = this.dirHandles.get(dir.handle);
    if (path === undefined) throw new PlatformError("EBADF", "fake", dir.path, "directory handle is closed");
    return path;
  }

  private track(dir: DirHandle, dirPath: string, name: Uint8Array, file: FakeFile): CandidateHandle {
    const handle: CandidateHandle = { dir, name: name.slice(), handle: this.nextHandle++ };
    this.candidates.set(handle.handle, { handle, dirPath, file, locked: false, closed: false });
    return handle;
  }

  private candidate(handle: CandidateHandle): OpenCandidate {
    const candidate = this.candidates.get(handle.handle);
    if (candidate === undefined || candidate.closed) {
      throw new PlatformError("EBADF", "fake", nameText(handle.name), "candidate handle is closed");
    }
    return candidate;
  }
}

function statOf(file: FakeFile): FileStat {
  return {
    kind: file.kind,
    dev: file.dev,
    ino: file.ino,
    size: file.content.length,
    mtimeMs: file.mtimeMs,
    nlink: file.nlink,
    uid: file.uid,
  };
}

/** Builds a FakePlatform; the same as `new FakePlatform(options)`. */
export function createFakePlatform(options: FakePlatformOptions = {}): FakePlatform {
  return new FakePlatform(options);
}
