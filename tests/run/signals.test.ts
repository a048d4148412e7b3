import { afterEach, describe, expect, test } from "bun:test";
import type { ProcessControl } from "../../src/platform/types.ts";
import { GracefulStop, SignalRouter, type CaughtSignal } from "../../src/run/signals.ts";

function fakeControl(overrides: Partial<ProcessControl> = {}): ProcessControl {
  return {
    os: "linux",
    hasSignals: true,
    becomeSubreaper: () => true,
    listChildren: () => [],
    reapIfExited: () => "not-child",
    sendSignal: () => true,
    isTerminalForeground: () => false,
    watchExitCode: () => null,
    exit: (code) => {
      throw new Error(`exit ${code}`);
    },
    ...overrides,
  };
}

const routers: SignalRouter[] = [];
afterEach(() => {
  for (const router of routers.splice(0)) router.dispose();
});

describe("SignalRouter", () => {
  test("replays signals caught before attach", () => {
    const router = new SignalRouter(fakeControl());
    routers.push(router);
    process.emit("SIGUSR2", "SIGUSR2");
    process.emit("SIGHUP", "SIGHUP");

    const seen: CaughtSignal[] = [];
    router.attach((caught) => seen.push(caught));
    expect(seen.map((caught) => caught.signal)).toEqual(["SIGUSR2", "SIGHUP"]);
  });

  test("records the terminal foreground on arrival", () => {
    let foreground = true;
    const router = new SignalRouter(fakeControl({ isTerminalForeground: () => foreground }));
    routers.push(router);
    process.emit("SIGINT", "SIGINT");
    foreground = false;

    const seen: CaughtSignal[] = [];
    router.attach((caught) => seen.push(caught));
    expect(seen).toEqual([{ signal: "SIGINT", terminalForeground: true }]);
  });

  test("stops listening after dispose", () => {
    const router = new SignalRouter(fakeControl());
    const seen: CaughtSignal[] = [];
    router.attach((caught) => seen.push(caught));
    router.dispose();
    expect(process.listenerCount("SIGWINCH")).toBe(0);
    expect(seen).toEqual([]);
  });

  test("catches only console events on Windows", () => {
    const router = new SignalRouter(fakeControl({ os: "windows", hasSignals: false }));
    routers.push(router);
    expect(process.listenerCount("SIGBREAK")).toBe(1);
    expect(process.listenerCount("SIGUSR1")).toBe(0);
  });
});

describe("GracefulStop", () => {
  test("kills after the grace period", async () => {
    const reasons: string[] = [];
    const stop = new GracefulStop(10, (reason) => reasons.push(reason));
    stop.begin();
    expect(stop.started).toBe(true);
    await Bun.sleep(50);
    expect(reasons).toEqual(["grace"]);
    expect(stop.killing).toBe(true);
  });

  test("hurry kills at once", () => {
    const reasons: string[] = [];
    const stop = new GracefulStop(3_600_000, (reason) => reasons.push(reason));
    stop.begin();
    stop.hurry();
    expect(reasons).toEqual(["hurry"]);
  });

  test("cancel prevents the kill", async () => {
    const reasons: string[] = [];
    const stop = new GracefulStop(10, (reason) => reasons.push(reason));
    stop.begin();
    stop.cancel();
    await Bun.sleep(50);
    expect(reasons).toEqual([]);
  });
});
