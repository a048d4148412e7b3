// `jerrylock clean` and `ls` from the compiled binary, against real lock
// clients holding real files. Every held or open file must survive.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "bun";
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { hasCommand, hasPyFilelock, needs } from "../helpers/require.ts";
import {
  age,
  BINARY,
  binaryExists,
  deadPid,
  holdWith,
  jerrylock,
  jerrylockJson,
  makeTempDir,
  startHolder,
  SYSTEM_PYTHON,
  type Holder,
  type LockLine,
} from "./helpers.ts";

const ready = needs("dist/jerrylock (run 'npm run build')", "none: build it", binaryExists());
const haveFilelock = needs("py-filelock for /usr/bin/python3", "python3-filelock", hasPyFilelock());
const haveFlock = needs("flock(1)", "util-linux", hasCommand("flock"));

function verdictOf(locks: LockLine[], name: string): LockLine {
  const line = locks.find((lock) => lock.path.endsWith(`/${name}`));
  if (line === undefined) throw new Error(`no report line for ${name}: ${JSON.stringify(locks.map((lock) => lock.path))}`);
  return line;
}

describe.if(ready && haveFilelock && haveFlock)("clean with real lock clients", () => {
  const dir = makeTempDir();
  const holders: Holder[] = [];
  const heldNames = {
    "filelock.lock": "filelock",
    "lockf-ex.lock": "lockf-ex",
    "lockf-sh.lock": "lockf-sh",
    "ofd.lock": "ofd",
    "flock.lock": "flock",
    "inherit.lock": "inherit",
  } as const;
  let report: ReturnType<typeof jerrylockJson>;

  beforeAll(async () => {
    for (const [name, mode] of Object.entries(heldNames)) holders.push(await holdWith(mode, join(dir, name)));
    holders.push(await holdWith("open-only", join(dir, "open-only.lock")));
    writeFileSync(join(dir, "flock1.lock"), "");
    holders.push(await startHolder(["flock", join(dir, "flock1.lock"), "sh", "-c", "echo ready $$; exec cat"]));
    writeFileSync(join(dir, "orphan.lock"), "");
    for (const name of readdirSync(dir)) age(join(dir, name), 3600);

    report = jerrylockJson(["clean", "--max-age", "0", dir]);
  });

  afterAll(async () => {
    for (const holder of holders) await holder.stop();
  });

  test("exits 0", () => {
    expect(report.exitCode).toBe(0);
  });

  for (const name of [...Object.keys(heldNames), "flock1.lock"]) {
    test(`keeps ${name} held by its client`, () => {
      expect(existsSync(join(dir, name))).toBe(true);
      expect(verdictOf(report.locks, name).verdict).toBe("held");
    });
  }

  test("keeps a file another process only has open", () => {
    expect(existsSync(join(dir, "open-only.lock"))).toBe(true);
    expect(verdictOf(report.locks, "open-only.lock").verdict).toBe("open");
  });

  test("names the exited pid of a lock held through an inherited descriptor", () => {
    expect(verdictOf(report.locks, "inherit.lock").reason).toContain("inherited descriptor");
  });

  test("names the holder pid of a py-filelock lock", () => {
    const filelockHolder = holders[0]!;
    expect(verdictOf(report.locks, "filelock.lock").pid).toBe(filelockHolder.pid);
  });

  test("removes the unheld orphan", () => {
    expect(existsSync(join(dir, "orphan.lock"))).toBe(false);
    expect(verdictOf(report.locks, "orphan.lock").removed).toBe(true);
  });

  test("reports removed exactly for the files that are gone", () => {
    for (const line of report.locks) expect(existsSync(line.path)).toBe(!line.removed);
  });

  test("ls names the process that inherited the lock", () => {
    const inheritor = holders[Object.keys(heldNames).indexOf("inherit.lock")]!;
    const listing = jerrylockJson(["ls", dir]);
    expect(verdictOf(listing.locks, "inherit.lock").pid).toBe(inheritor.pid);
  });

  test("ls shows the same held verdicts without removing anything", () => {
    const listing = jerrylockJson(["ls", dir]);
    expect(listing.summary.removed).toBe(0);
    for (const name of Object.keys(heldNames)) expect(verdictOf(listing.locks, name).verdict).toBe("held");
  });
});

describe.if(ready)("clean with owner records", () => {
  const dir = makeTempDir();
  let sleeper: ReturnType<typeof Bun.spawn>;
  let report: ReturnType<typeof jerrylockJson>;

  beforeAll(() => {
    writeFileSync(join(dir, "dead.lock"), `${deadPid()}\n`);
    writeFileSync(join(dir, "other-host.lock"), `{"pid":${process.pid},"host":"not-${hostname()}"}\n`);
    writeFileSync(join(dir, "garbage.lock"), "this is not a pid\n");
    writeFileSync(join(dir, "earlier-boot.lock"), `{"pid":${process.pid},"host":"${hostname()}","boot_id":"00000000-0000-0000-0000-000000000000"}\n`);
    for (const name of readdirSync(dir)) age(join(dir, name), 600);
    // Written now by a process that started earlier, as an owner writes its record.
    writeFileSync(join(dir, "live.lock"), `${process.pid}\n`);

    // A process started now, named by a record written ten minutes ago: its pid was reused.
    sleeper = Bun.spawn(["sleep", "300"]);
    writeFileSync(join(dir, "reused.lock"), `${sleeper.pid}\n`);
    age(join(dir, "reused.lock"), 600);

    report = jerrylockJson(["clean", dir]);
  });

  afterAll(() => {
    sleeper.kill();
  });

  test("keeps a record naming a live pid", () => {
    expect(verdictOf(report.locks, "live.lock").verdict).toBe("live-owner");
    expect(existsSync(join(dir, "live.lock"))).toBe(true);
  });

  test("removes a record naming a dead pid", () => {
    expect(verdictOf(report.locks, "dead.lock").verdict).toBe("stale");
    expect(existsSync(join(dir, "dead.lock"))).toBe(false);
  });

  test("removes a record whose pid was reused by a later process", () => {
    expect(verdictOf(report.locks, "reused.lock").verdict).toBe("stale");
    expect(existsSync(join(dir, "reused.lock"))).toBe(false);
  });

  test("removes a record from an earlier boot", () => {
    expect(verdictOf(report.locks, "earlier-boot.lock").verdict).toBe("stale");
  });

  test("keeps a record naming another host", () => {
    expect(verdictOf(report.locks, "other-host.lock").verdict).toBe("foreign");
    expect(existsSync(join(dir, "other-host.lock"))).toBe(true);
  });

  test("keeps garbage content as not-a-lock", () => {
    expect(verdictOf(report.locks, "garbage.lock").verdict).toBe("not-a-lock");
    expect(readFileSync(join(dir, "garbage.lock"), "utf8")).toBe("this is not a pid\n");
  });
});

describe.if(ready)("clean with bad input", () => {
  const dir = makeTempDir();
  const outside = makeTempDir();
  const oddNames = ["with space.lock", "new\nline.lock", Buffer.from([0x62, 0x61, 0x64, 0xff, 0x2e, 0x6c, 0x6f, 0x63, 0x6b])];
  let report: ReturnType<typeof jerrylockJson>;
  let socketServer: ReturnType<typeof Bun.listen> | undefined;

  beforeAll(() => {
    writeFileSync(join(outside, "target.lock"), "");
    symlinkSync(join(outside, "target.lock"), join(dir, "link-to-file.lock"));
    symlinkSync(outside, join(dir, "link-to-dir.lock"));
    writeFileSync(join(outside, "linked.lock"), "");
    linkSync(join(outside, "linked.lock"), join(dir, "hardlink.lock"));
    spawnSync(["mkfifo", join(dir, "fifo.lock")]);
    socketServer = Bun.listen({ unix: join(dir, "socket.lock"), socket: { data() {} } });
    mkdirSync(join(dir, "subdir.lock"));
    writeFileSync(join(dir, "subdir.lock", "inner.lock"), "");
    writeFileSync(join(dir, "big.lock"), Buffer.alloc(10 * 1024 * 1024));
    writeFileSync(join(dir, "Cargo.lock"), '# This file is automatically @generated by Cargo.\nversion = 3\n\n[[package]]\nname = "demo"\n');
    writeFileSync(join(dir, "yarn.lock"), "# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n");
    for (const name of oddNames) writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), Buffer.from(name)]), "");
    writeFileSync(join(dir, "unreadable.lock"), "");
    chmodSync(join(dir, "unreadable.lock"), 0o000);
    for (const entry of readdirSync(dir, { encoding: "buffer" })) {
      const name = entry.toString();
      if (name.startsWith("link-") || name.startsWith("socket")) continue;
      age(Buffer.concat([Buffer.from(`${dir}/`), entry]), 3600);
    }

    report = jerrylockJson(["clean", "--max-age", "0", dir]);
  });

  afterAll(() => {
    socketServer?.stop(true);
  });

  test("exits 0 without hanging on the fifo", () => {
    expect(report.exitCode).toBe(0);
  });

  test("keeps a symlink to a file outside the directory, and its target", () => {
    expect(verdictOf(report.locks, "link-to-file.lock").verdict).toBe("not-a-lock");
    expect(existsSync(join(dir, "link-to-file.lock"))).toBe(true);
    expect(existsSync(join(outside, "target.lock"))).toBe(true);
  });

  test("keeps a symlink to a directory", () => {
    expect(verdictOf(report.locks, "link-to-dir.lock").verdict).toBe("not-a-lock");
  });

  for (const name of ["fifo.lock", "socket.lock", "subdir.lock", "big.lock", "Cargo.lock", "yarn.lock", "hardlink.lock"]) {
    test(`keeps ${name} as not-a-lock`, () => {
      expect(verdictOf(report.locks, name).verdict).toBe("not-a-lock");
      expect(existsSync(join(dir, name))).toBe(true);
    });
  }

  test("never descends into a directory named like a lock", () => {
    expect(existsSync(join(dir, "subdir.lock", "inner.lock"))).toBe(true);
  });

  test("keeps a copied Cargo.lock even when it matches the pattern", () => {
    const withCargo = jerrylockJson(["clean", "--max-age", "0", "--pattern", "*.lock", "--pattern", "Cargo.lock", dir]);
    expect(withCargo.exitCode).toBe(0);
    const cargo = withCargo.locks.find((lock) => lock.path.endsWith("/Cargo.lock"));
    expect(cargo?.verdict).toBe("not-a-lock");
    expect(existsSync(join(dir, "Cargo.lock"))).toBe(true);
  });

  test("removes empty orphans with a space, a newline or invalid UTF-8 in the name", () => {
    const remaining = readdirSync(dir, { encoding: "buffer" }).map((entry) => entry.toString("hex"));
    for (const name of oddNames) expect(remaining).not.toContain(Buffer.from(name).toString("hex"));
  });

  test("escapes a newline and invalid UTF-8 in reported paths", () => {
    const paths = report.locks.map((lock) => lock.path);
    expect(paths.some((path) => path.endsWith("/new\\nline.lock"))).toBe(true);
    expect(paths.some((path) => path.endsWith("/bad\\xff.lock"))).toBe(true);
  });

  test("handles a file without read permission", () => {
    const line = verdictOf(report.locks, "unreadable.lock");
    expect(["orphan", "error"]).toContain(line.verdict);
  });

  test("rejects a missing directory with exit 2 and names it", () => {
    const result = jerrylock(["clean", join(dir, "missing")]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(`"${join(dir, "missing")}" does not exist`);
  });

  test("rejects a directory that is a file with exit 2", () => {
    const result = jerrylock(["clean", join(outside, "target.lock")]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("is not a directory");
  });
});

describe.if(ready && haveFilelock)("the framework's scenario", () => {
  const dir = makeTempDir();
  let holder: Holder;
  let before: number;
  let report: ReturnType<typeof jerrylockJson>;

  beforeAll(async () => {
    const script = `
import hashlib, os, sys
from filelock import FileLock
locks = sys.argv[1]
for i in range(120):
    guarded = f"/project/data/file-{i}.json"
    name = hashlib.sha256(guarded.encode()).hexdigest()[:16] + ".lock"
    with FileLock(os.path.join(locks, name)):
        pass
`;
    const run = spawnSync([SYSTEM_PYTHON, "-c", script, dir]);
    if (run.exitCode !== 0) throw new Error(run.stderr.toString());
    holder = await holdWith("filelock", join(dir, "0123456789abcdef.lock"));
    before = readdirSync(dir).length;
    report = jerrylockJson(["clean", "--max-age", "0", dir]);
  });

  afterAll(async () => {
    await holder.stop();
  });

  test("leaves more than 100 lock files behind py-filelock", () => {
    expect(before).toBeGreaterThan(100);
  });

  test("one clean --max-age 0 leaves only the held lock", () => {
    expect(readdirSync(dir)).toEqual(["0123456789abcdef.lock"]);
  });

  test("the JSON report matches the removals", () => {
    expect(report.summary.removed).toBe(before - 1);
  });
});

describe.if(ready)("directory discovery", () => {
  test("finds .jerry/local/locks from a subdirectory", () => {
    const root = makeTempDir();
    mkdirSync(join(root, ".jerry", "local", "locks"), { recursive: true });
    mkdirSync(join(root, "src", "deep"), { recursive: true });
    writeFileSync(join(root, ".jerry", "local", "locks", "a.lock"), "");
    age(join(root, ".jerry", "local", "locks", "a.lock"), 3600);
    const result = jerrylockJson(["clean"], { cwd: join(root, "src", "deep") });
    expect(result.summary.removed).toBe(1);
  });

  test("exits 0 with a message when no .jerry folder exists", () => {
    const empty = makeTempDir();
    const result = jerrylock(["clean"], { cwd: empty });
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain("no .jerry folder");
  });

  test("follows no symlink below the project root", () => {
    const root = makeTempDir();
    const victim = makeTempDir();
    writeFileSync(join(victim, "a.lock"), "");
    age(join(victim, "a.lock"), 3600);
    mkdirSync(join(root, ".jerry", "local"), { recursive: true });
    symlinkSync(victim, join(root, ".jerry", "local", "locks"));
    const result = jerrylock(["clean"], { cwd: root });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("follows no symlink");
    expect(existsSync(join(victim, "a.lock"))).toBe(true);
  });

  test("uses JERRYLOCK_DIR over discovery", () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, "a.lock"), "");
    age(join(dir, "a.lock"), 3600);
    const result = jerrylockJson(["clean"], { cwd: makeTempDir(), env: { JERRYLOCK_DIR: dir } });
    expect(result.summary.removed).toBe(1);
  });
});

test.if(ready)("rejects an argument that is not valid UTF-8", () => {
  const dir = makeTempDir();
  // Bun encodes spawn arguments as UTF-8, so the raw byte 0xff comes from printf.
  const result = spawnSync(["sh", "-c", 'mkdir "$1/bad$(printf "\\377")" && exec "$0" clean "$1/bad$(printf "\\377")"', BINARY, dir]);
  expect(result.exitCode).toBe(2);
  expect(result.stderr.toString()).toContain("not valid UTF-8");
});

test.if(ready)("prints the usage error for an unknown option with exit 2", () => {
  const result = jerrylock(["clean", "--frobnicate"]);
  expect(result.exitCode).toBe(2);
  expect(result.stderr).toContain("--frobnicate");
});
