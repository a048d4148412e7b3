// A fake of the DarwinApi layer: processes as kill(pid, 0) and proc_pidinfo
// report them, files with the locks F_GETLK reports (flock locks with pid -1,
// because macOS keeps both kinds in one list), and the pids proc_listpidspath
// returns.
import { F_RDLCK, F_WRLCK, LOCK_EX, LOCK_NB, LOCK_SH, S_IFLNK, S_IFREG, SZOMB, type DarwinApi, type DarwinLock, type DarwinProcess, type DarwinResult, type DarwinStat } from "../../src/platform/darwin-api.ts";

export interface FakeMacProcess {
  /** "other-user" answers kill(pid, 0) with EPERM; "hidden" also hides its proc_pidinfo. */
  state: "running" | "zombie" | "other-user" | "hidden";
  startMs: number;
  command?: string;
}

export interface FakeMacFile {
  mode: number;
  ino: bigint;
  content: Uint8Array;
  mtimeMs: number;
  /** Locks of other processes: pid -1 for a flock lock. */
  locks: DarwinLock[];
  /** Pids of other processes that have the file open. */
  openers: number[];
}

const ok = <T>(value: T): DarwinResult<T> => ({ ok: true, value });
const fail = <T>(errno: string): DarwinResult<T> => ({ ok: false, errno });
const key = (name: Uint8Array): string => Buffer.from(name).toString("latin1");

export class FakeDarwin implements DarwinApi {
  readonly processes = new Map<number, FakeMacProcess>();
  readonly dirs = new Map<string, Map<string, FakeMacFile>>();
  bootUuid: string | null = "7D1F3A52-0000-4000-8000-000000000001";
  selfPid = 700;
  clockMs = Date.UTC(2026, 0, 1);

  private nextIno = 50n;
  private nextFd = 10;
  private readonly fds = new Map<number, { dir: string; file?: FakeMacFile; flock?: boolean }>();

  constructor() {
    this.processes.set(this.selfPid, { state: "running", startMs: this.clockMs - 1000, command: "jerrylock" });
  }

  addFile(dir: string, name: string, content = "", options: Partial<FakeMacFile> = {}): FakeMacFile {
    const file: FakeMacFile = {
      mode: S_IFREG | 0o644,
      ino: this.nextIno++,
      content: new TextEncoder().encode(content),
      mtimeMs: this.clockMs,
      locks: [],
      openers: [],
      ...options,
    };
    this.entries(dir).set(key(Buffer.from(name)), file);
    return file;
  }

  exists(dir: string, name: string): boolean {
    return this.entries(dir).has(key(Buffer.from(name)));
  }

  openFdCount(): number {
    return this.fds.size;
  }

  entries(dir: string): Map<string, FakeMacFile> {
    let entries = this.dirs.get(dir);
    if (entries === undefined) {
      entries = new Map();
      this.dirs.set(dir, entries);
    }
    return entries;
  }

  // ---- DarwinApi ----

  pid(): number {
    return this.selfPid;
  }

  hostname(): string {
    return "machost";
  }

  bootSessionUuid(): string | null {
    return this.bootUuid;
  }

  signalZero(pid: number): DarwinResult<void> {
    const process = this.processes.get(pid);
    if (process === undefined) return fail("ESRCH");
    if (process.state === "other-user" || process.state === "hidden") return fail("EPERM");
    return ok(undefined);
  }

  processInfo(pid: number): DarwinResult<DarwinProcess> {
    const process = this.processes.get(pid);
    if (process === undefined) return fail("ESRCH");
    if (process.state === "hidden") return fail("EPERM");
    return ok({
      status: process.state === "zombie" ? SZOMB : 2,
      startSeconds: Math.floor(process.startMs / 1000),
      startMicroseconds: (process.startMs % 1000) * 1000,
      command: process.command ?? "",
    });
  }

  openDirectory(path: string): DarwinResult<number> {
    if (!this.dirs.has(path)) return fail("ENOENT");
    return ok(this.track({ dir: path }));
  }

  openAt(dir: number, name: Uint8Array, flags: number): DarwinResult<number> {
    const entry = this.fds.get(dir);
    if (entry === undefined) return fail("EBADF");
    const file = this.entries(entry.dir).get(key(name));
    if (file === undefined) {
      if ((flags & 0x0200) === 0) return fail("ENOENT");
      const created = this.addFile(entry.dir, Buffer.from(name).toString("latin1"));
      return ok(this.track({ dir: entry.dir, file: created }));
    }
    if ((file.mode & 0o170000) === S_IFLNK && (flags & 0x0100) !== 0) return fail("ELOOP");
    return ok(this.track({ dir: entry.dir, file }));
  }

  statAt(dir: number, name: Uint8Array): DarwinResult<DarwinStat> {
    const entry = this.fds.get(dir);
    const file = entry === undefined ? undefined : this.entries(entry.dir).get(key(name));
    return file === undefined ? fail("ENOENT") : ok(this.statOf(file));
  }

  fstat(fd: number): DarwinResult<DarwinStat> {
    const file = this.fds.get(fd)?.file;
    return file === undefined ? fail("EBADF") : ok(this.statOf(file));
  }

  list(dir: number): DarwinResult<Uint8Array[]> {
    const entry = this.fds.get(dir);
    if (entry === undefined) return fail("EBADF");
    return ok([...this.entries(entry.dir).keys()].map((name) => new Uint8Array(Buffer.from(name, "latin1"))));
  }

  getLock(fd: number): DarwinResult<DarwinLock | null> {
    const file = this.fds.get(fd)?.file;
    if (file === undefined) return fail("EBADF");
    return ok(file.locks[0] ?? null);
  }

  flock(fd: number, operation: number): DarwinResult<void> {
    const entry = this.fds.get(fd);
    if (entry?.file === undefined) return fail("EBADF");
    const wantsExclusive = (operation & LOCK_EX) !== 0;
    const wantsShared = (operation & LOCK_SH) !== 0;
    if (wantsExclusive || wantsShared) {
      const conflict = entry.file.locks.some((lock) => wantsExclusive || lock.type === F_WRLCK);
      if (conflict) return (operation & LOCK_NB) !== 0 ? fail("EAGAIN") : fail("EDEADLK");
      entry.flock = true;
    } else {
      entry.flock = false;
    }
    return ok(undefined);
  }

  pidsWithOpen(dir: number, name: Uint8Array): DarwinResult<number[]> {
    const entry = this.fds.get(dir);
    const file = entry === undefined ? undefined : this.entries(entry.dir).get(key(name));
    if (file === undefined) return fail("ENOENT");
    const ours = [...this.fds.values()].some((open) => open.file === file) ? [this.selfPid] : [];
    return ok([...file.openers, ...ours]);
  }

  unlinkAt(dir: number, name: Uint8Array): DarwinResult<void> {
    const entry = this.fds.get(dir);
    if (entry === undefined) return fail("EBADF");
    return this.entries(entry.dir).delete(key(name)) ? ok(undefined) : fail("ENOENT");
  }

  read(fd: number, maxBytes: number): DarwinResult<Uint8Array> {
    const file = this.fds.get(fd)?.file;
    return file === undefined ? fail("EBADF") : ok(file.content.slice(0, maxBytes));
  }

  replaceContent(fd: number, bytes: Uint8Array): DarwinResult<void> {
    const file = this.fds.get(fd)?.file;
    if (file === undefined) return fail("EBADF");
    file.content = bytes.slice();
    return ok(undefined);
  }

  close(fd: number): void {
    this.fds.delete(fd);
  }

  // ---- Internals ----

  private track(entry: { dir: string; file?: FakeMacFile }): number {
    const fd = this.nextFd++;
    this.fds.set(fd, entry);
    return fd;
  }

  private statOf(file: FakeMacFile): DarwinStat {
    return { mode: file.mode, dev: (1 << 24) | 4, ino: file.ino, nlink: 1, uid: 501, size: file.content.length, mtimeMs: file.mtimeMs };
  }
}

export const READ_LOCK = F_RDLCK;
export const WRITE_LOCK = F_WRLCK;
