// A fake of the Win32Api layer that models the parts of Windows the rules in
// windows.ts depend on: process handles (running, exited, access denied),
// share modes of open handles, whole-file byte-range locks, and deletion
// through a handle with its delete-pending state.
import {
  ACCESS,
  ATTRIBUTE,
  DISPOSITION,
  FILETIME_UNIX_EPOCH,
  SHARE,
  type Win32Api,
  type Win32FileInfo,
  type Win32Result,
} from "../../src/platform/windows-api.ts";

export interface FakeWinProcess {
  /** "denied" refuses every OpenProcess; "no-synchronize" refuses only SYNCHRONIZE access. */
  state: "running" | "exited" | "denied" | "no-synchronize";
  exitCode?: number;
  /** Creation time in ms since the epoch. */
  startMs: number;
  image?: string;
}

export interface FakeWinFile {
  attributes: number;
  index: bigint;
  content: Uint8Array;
  lastWriteMs: number;
  deletePending: boolean;
  /** Handles of every process, ours included. */
  handles: FakeWinHandle[];
}

export interface FakeWinHandle {
  access: number;
  share: number;
  /** Whole-file byte-range lock this handle has. */
  lock?: "shared" | "exclusive";
  /** True for handles of other processes, opened by the test. */
  foreign: boolean;
}

type Entry = { kind: "dir"; path: string } | { kind: "file"; dir: string; name: string; file: FakeWinFile; handle: FakeWinHandle } | { kind: "process"; pid: number; access: number };

// Access bits that take part in sharing checks; attribute-only opens never do.
const SHARING_ACCESS = ACCESS.readData | ACCESS.writeData | ACCESS.delete;

const msToFiletime = (ms: number): bigint => BigInt(ms) * 10_000n + FILETIME_UNIX_EPOCH;

export class FakeWin32 implements Win32Api {
  readonly processes = new Map<number, FakeWinProcess>();
  readonly dirs = new Map<string, Map<string, FakeWinFile>>();
  clockMs = Date.UTC(2026, 0, 1);
  pid = 1000;
  /** Set to make the next lockWholeFile, openAt or markForDeletion fail with this error. */
  failNext: Partial<Record<"openAt" | "lockWholeFile" | "markForDeletion", string>> = {};

  private nextIndex = 100n;
  private nextHandle = 4;
  private readonly handles = new Map<number, Entry>();

  constructor() {
    this.processes.set(this.pid, { state: "running", startMs: this.clockMs - 5000, image: "C:\\tools\\jerrylock.exe" });
  }

  addFile(dir: string, name: string, content = "", lastWriteMs = this.clockMs): FakeWinFile {
    const file: FakeWinFile = { attributes: 0x20, index: this.nextIndex++, content: new TextEncoder().encode(content), lastWriteMs, deletePending: false, handles: [] };
    this.entries(dir).set(name.toLowerCase(), file);
    return file;
  }

  /** Opens `file` as another process would: with `access` and `share`, optionally taking a lock. */
  openForeign(file: FakeWinFile, access: number, share: number, lock?: "shared" | "exclusive"): FakeWinHandle {
    const handle: FakeWinHandle = { access, share, lock, foreign: true };
    file.handles.push(handle);
    return handle;
  }

  closeForeign(file: FakeWinFile, handle: FakeWinHandle): void {
    file.handles.splice(file.handles.indexOf(handle), 1);
  }

  exists(dir: string, name: string): boolean {
    return this.entries(dir).has(name.toLowerCase());
  }

  /** Handles jerrylock still has open; a finished protocol leaves none but the directory. */
  openHandleCount(): number {
    return this.handles.size;
  }

  // ---- Win32Api ----

  currentProcessId(): number {
    return this.pid;
  }

  hostname(): string {
    return "winhost";
  }

  systemTime(): bigint {
    return msToFiletime(this.clockMs);
  }

  openProcess(pid: number, access: number): Win32Result<number> {
    const process = this.processes.get(pid);
    if (process === undefined) return { ok: false, error: "ERROR_INVALID_PARAMETER" };
    if (process.state === "denied") return { ok: false, error: "ERROR_ACCESS_DENIED" };
    if (process.state === "no-synchronize" && (access & ACCESS.synchronize) !== 0) return { ok: false, error: "ERROR_ACCESS_DENIED" };
    return { ok: true, value: this.track({ kind: "process", pid, access }) };
  }

  exitCode(handle: number): Win32Result<number> {
    const process = this.process(handle);
    return { ok: true, value: process.state === "exited" ? (process.exitCode ?? 0) : 259 };
  }

  hasExited(handle: number): Win32Result<boolean> {
    const entry = this.handles.get(handle);
    if (entry?.kind !== "process" || (entry.access & ACCESS.synchronize) === 0) return { ok: false, error: "ERROR_ACCESS_DENIED" };
    return { ok: true, value: this.process(handle).state === "exited" };
  }

  creationTime(handle: number): Win32Result<bigint> {
    return { ok: true, value: msToFiletime(this.process(handle).startMs) };
  }

  imagePath(handle: number): string | null {
    return this.process(handle).image ?? null;
  }

  close(handle: number): void {
    const entry = this.handles.get(handle);
    this.handles.delete(handle);
    if (entry?.kind !== "file") return;
    const { file } = entry;
    file.handles.splice(file.handles.indexOf(entry.handle), 1);
    if (file.deletePending && file.handles.length === 0) this.entries(entry.dir).delete(entry.name);
  }

  openDirectory(path: string): Win32Result<number> {
    if (!this.dirs.has(path)) return { ok: false, error: "ERROR_PATH_NOT_FOUND" };
    return { ok: true, value: this.track({ kind: "dir", path }) };
  }

  openAt(root: number, name: string, access: number, share: number, disposition: number): Win32Result<number> {
    const injected = this.failNext.openAt;
    if (injected !== undefined) {
      delete this.failNext.openAt;
      return { ok: false, error: injected };
    }

    const base = this.handles.get(root);
    let dir: string;
    let key: string;
    let file: FakeWinFile | undefined;
    if (base?.kind === "file" && name === "") {
      ({ dir, name: key, file } = base);
    } else if (base?.kind === "dir") {
      dir = base.path;
      key = name.toLowerCase();
      file = this.entries(dir).get(key);
    } else {
      return { ok: false, error: "ERROR_INVALID_HANDLE" };
    }

    if (file === undefined) {
      if (disposition !== DISPOSITION.openIf) return { ok: false, error: "ERROR_FILE_NOT_FOUND" };
      file = this.addFile(dir, key);
    }
    if (file.deletePending) return { ok: false, error: "ERROR_DELETE_PENDING" };
    if (!this.shareAllows(file, access, share)) return { ok: false, error: "ERROR_SHARING_VIOLATION" };

    const handle: FakeWinHandle = { access, share, foreign: false };
    file.handles.push(handle);
    return { ok: true, value: this.track({ kind: "file", dir, name: key, file, handle }) };
  }

  info(handle: number): Win32Result<Win32FileInfo> {
    const entry = this.handles.get(handle);
    if (entry?.kind === "dir") {
      return { ok: true, value: { attributes: ATTRIBUTE.directory, volumeSerial: 0x1234, fileIndex: 1n, size: 0, lastWrite: msToFiletime(this.clockMs), links: 1, deletePending: false } };
    }
    if (entry?.kind !== "file") return { ok: false, error: "ERROR_INVALID_HANDLE" };
    const { file } = entry;
    return {
      ok: true,
      value: {
        attributes: file.attributes,
        volumeSerial: 0x1234,
        fileIndex: file.index,
        size: file.content.length,
        lastWrite: msToFiletime(file.lastWriteMs),
        links: 1,
        deletePending: file.deletePending,
      },
    };
  }

  list(dir: number): Win32Result<string[]> {
    const entry = this.handles.get(dir);
    if (entry?.kind !== "dir") return { ok: false, error: "ERROR_INVALID_HANDLE" };
    return { ok: true, value: [...this.entries(entry.path).keys()] };
  }

  lockWholeFile(handle: number, exclusive: boolean): Win32Result<void> {
    const injected = this.failNext.lockWholeFile;
    if (injected !== undefined) {
      delete this.failNext.lockWholeFile;
      return { ok: false, error: injected };
    }
    const entry = this.fileEntry(handle);
    if ((entry.handle.access & (ACCESS.readData | ACCESS.writeData)) === 0) return { ok: false, error: "ERROR_ACCESS_DENIED" };
    const others = entry.file.handles.filter((other) => other !== entry.handle && other.lock !== undefined);
    const conflict = others.some((other) => exclusive || other.lock === "exclusive");
    if (conflict || entry.handle.lock !== undefined) return { ok: false, error: "ERROR_LOCK_VIOLATION" };
    entry.handle.lock = exclusive ? "exclusive" : "shared";
    return { ok: true, value: undefined };
  }

  unlockWholeFile(handle: number): Win32Result<void> {
    const entry = this.fileEntry(handle);
    if (entry.handle.lock === undefined) return { ok: false, error: "ERROR_NOT_LOCKED" };
    entry.handle.lock = undefined;
    return { ok: true, value: undefined };
  }

  read(handle: number, maxBytes: number): Win32Result<Uint8Array> {
    const entry = this.fileEntry(handle);
    const locked = entry.file.handles.some((other) => other !== entry.handle && other.lock === "exclusive");
    if (locked) return { ok: false, error: "ERROR_LOCK_VIOLATION" };
    return { ok: true, value: entry.file.content.slice(0, maxBytes) };
  }

  replaceContent(handle: number, bytes: Uint8Array): Win32Result<void> {
    const entry = this.fileEntry(handle);
    entry.file.content = bytes.slice();
    entry.file.lastWriteMs = this.clockMs;
    return { ok: true, value: undefined };
  }

  markForDeletion(handle: number): Win32Result<void> {
    const injected = this.failNext.markForDeletion;
    if (injected !== undefined) {
      delete this.failNext.markForDeletion;
      return { ok: false, error: injected };
    }
    const entry = this.fileEntry(handle);
    if ((entry.handle.access & ACCESS.delete) === 0) return { ok: false, error: "ERROR_ACCESS_DENIED" };
    entry.file.deletePending = true;
    return { ok: true, value: undefined };
  }

  // ---- Internals ----

  /** Windows sharing rule: each side's share mode must allow the other side's access. */
  private shareAllows(file: FakeWinFile, access: number, share: number): boolean {
    const wanted = access & SHARING_ACCESS;
    if (wanted === 0) return true;
    return file.handles.every((other) => {
      const existing = other.access & SHARING_ACCESS;
      if (existing === 0) return true;
      return allows(other.share, wanted) && allows(share, existing);
    });
  }

  entries(dir: string): Map<string, FakeWinFile> {
    let entries = this.dirs.get(dir);
    if (entries === undefined) {
      entries = new Map();
      this.dirs.set(dir, entries);
    }
    return entries;
  }

  private track(entry: Entry): number {
    const handle = this.nextHandle;
    this.nextHandle += 4;
    this.handles.set(handle, entry);
    return handle;
  }

  private process(handle: number): FakeWinProcess {
    const entry = this.handles.get(handle);
    if (entry?.kind !== "process") throw new Error(`fake-win32: ${handle} is not a process handle`);
    return this.processes.get(entry.pid)!;
  }

  private fileEntry(handle: number): Extract<Entry, { kind: "file" }> {
    const entry = this.handles.get(handle);
    if (entry?.kind !== "file") throw new Error(`fake-win32: ${handle} is not a file handle`);
    return entry;
  }
}

function allows(share: number, access: number): boolean {
  if ((access & ACCESS.readData) !== 0 && (share & SHARE.read) === 0) return false;
  if ((access & ACCESS.writeData) !== 0 && (share & SHARE.write) === 0) return false;
  if ((access & ACCESS.delete) !== 0 && (share & SHARE.delete) === 0) return false;
  return true;
}
