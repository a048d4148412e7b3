// Drives the real Windows platform (windows.ts on kernel32 and ntdll) from
// inside a Windows process. The Wine suite compiles this file for
// bun-windows-x64 and runs it under Wine, so the probes meet real Win32
// sharing modes, byte-range locks and process handles.
//
// Modes (holders print "ready PID", then wait until standard input closes):
//   hold-lock DIR NAME   create the file and take the lock as `with` does
//   hold-open DIR NAME   open without FILE_SHARE_DELETE, as the C runtime does
//   probe DIR NAME       print the stat, held and open results as JSON
//   remove DIR NAME      run the removal protocol and print its outcome as JSON
//   inspect PID          print inspectProcess(PID) as JSON
//   self                 print selfPid, host and inspectProcess(self) as JSON
//   wait                 print "ready PID" and wait, as the command of `jerrylock with`
import { dlopen, FFIType } from "bun:ffi";
import { removeThroughProtocol } from "../../../src/core/remove.ts";
import { ACCESS, DISPOSITION, loadWin32, OPTIONS, SHARE } from "../../../src/platform/windows-api.ts";
import { createWindowsPlatform } from "../../../src/platform/windows.ts";

const platform = createWindowsPlatform();
const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
const print = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value, (_key, item) => (typeof item === "bigint" ? item.toString() : item))}\n`);
};

// Bun.stdin.stream() fails with EBADF under Wine 8, so the wait reads the
// standard input handle with ReadFile until it reports the end.
async function waitForStdinEnd(): Promise<void> {
  const kernel32 = dlopen("kernel32.dll", {
    GetStdHandle: { args: [FFIType.u32], returns: FFIType.i64_fast },
    ReadFile: { args: [FFIType.i64, FFIType.ptr, FFIType.u32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  }).symbols;
  const STD_INPUT_HANDLE = 0xffff_fff6;
  const input = kernel32.GetStdHandle(STD_INPUT_HANDLE);
  const buffer = new Uint8Array(256);
  const count = new Uint32Array(1);
  while (kernel32.ReadFile(input, buffer, buffer.length, count, null) !== 0 && count[0] !== 0) {
    // Only the end of input matters.
  }
}

const [mode, first, second] = process.argv.slice(2);

switch (mode) {
  case "hold-lock": {
    const dir = platform.openDir(first!);
    const file = platform.createCandidate(dir, encode(second!));
    const attempt = platform.tryLock(file);
    if (attempt.state !== "locked") throw new Error(`hold-lock: ${JSON.stringify(attempt)}`);
    platform.writeRecord(file, encode(`${platform.selfPid()}\n`));
    process.stdout.write(`ready ${platform.selfPid()}\n`);
    await waitForStdinEnd();
    platform.closeCandidate(file);
    break;
  }
  case "hold-open": {
    // Opened the way the C runtime's open() does: read and write sharing, no delete sharing.
    const api = loadWin32();
    const dir = platform.openDir(first!);
    const opened = api.openAt(dir.handle, second!, ACCESS.readData | ACCESS.writeData, SHARE.read | SHARE.write, DISPOSITION.openIf, OPTIONS.nonDirectory);
    if (!opened.ok) throw new Error(`hold-open: ${opened.error}`);
    process.stdout.write(`ready ${platform.selfPid()}\n`);
    await waitForStdinEnd();
    api.close(opened.value);
    break;
  }
  case "probe": {
    const dir = platform.openDir(first!);
    const name = encode(second!);
    const stat = platform.statAt(dir, name);
    if (stat === null) {
      print({ stat: null });
      break;
    }
    const scan = platform.beginScan(dir);
    print({ stat, held: scan.held(stat, name, dir), open: scan.open(stat, name, dir) });
    break;
  }
  case "remove": {
    const dir = platform.openDir(first!);
    const name = encode(second!);
    const stat = platform.statAt(dir, name);
    if (stat === null) {
      print({ stat: null });
      break;
    }
    print(removeThroughProtocol(platform, { dir, name, displayPath: second!, stat }));
    break;
  }
  case "wait":
    process.stdout.write(`ready ${platform.selfPid()}\n`);
    await waitForStdinEnd();
    break;
  case "inspect":
    print(platform.inspectProcess(Number(first)));
    break;
  case "self":
    print({ pid: platform.selfPid(), host: platform.host(), self: platform.inspectProcess(platform.selfPid()), now: platform.now() });
    break;
  default:
    process.stderr.write(`platform-check: unknown mode "${mode}"; modes: hold-lock, hold-open, probe, remove, inspect, self, wait\n`);
    process.exitCode = 2;
}
