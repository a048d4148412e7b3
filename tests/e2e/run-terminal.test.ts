// Ctrl-C through a real terminal: tmux runs jerrylock in a pane, so the
// terminal sends SIGINT to the foreground process group, which holds both
// jerrylock and the command.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasCommand, needs } from "../helpers/require.ts";
import { FIXTURES, JERRYLOCK, PYTHON } from "./fixtures/run-harness.ts";

const scratch = mkdtempSync(join(tmpdir(), "jerrylock-run-tty-"));
// A private tmux server, so the test neither sees nor touches the user's sessions.
const socket = join(scratch, "tmux.sock");

function tmux(...args: string[]): string {
  const result = Bun.spawnSync(["tmux", "-S", socket, "-f", "/dev/null", ...args], { stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`tmux ${args.join(" ")} failed: ${result.stderr.toString()}`);
  return result.stdout.toString().trim();
}

/** Polls `path` until a line matches, for output written by a process in the pane. */
async function waitForLine(path: string, pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = existsSync(path) ? readFileSync(path, "utf8") : "";
    for (const line of text.split("\n")) {
      const match = line.match(pattern);
      if (match !== null) return match;
    }
    if (Date.now() > deadline) throw new Error(`no line matching ${pattern} in "${path}" within ${timeoutMs} ms:\n${text}`);
    await Bun.sleep(20);
  }
}

afterAll(() => {
  Bun.spawnSync(["tmux", "-S", socket, "kill-server"], { stderr: "ignore" });
});

describe.if(needs("tmux", "tmux", hasCommand("tmux")) && needs("python3 at /usr/bin/python3", "python3", existsSync(PYTHON)))(
  "run in a terminal",
  () => {
    test("Ctrl-C reaches an interactive child once", async () => {
      const log = join(scratch, "interactive.log");
      const session = "ctrl-c";
      // tmux 3.3 sometimes marks a pane dead without its status, so a shell
      // records jerrylock's status. It ignores Ctrl-C, which the terminal
      // sends to it as well.
      const script = `trap "" INT QUIT; "$@"; echo "exit $?" >> "${log}"`;
      tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", "--", "sh", "-c", script, "sh", JERRYLOCK, "run", "--no-gc", "--", PYTHON, join(FIXTURES, "run-interactive.py"), log);
      await waitForLine(log, /^ready \d+$/);
      const shellPid = Number(tmux("display-message", "-p", "-t", session, "#{pane_pid}"));
      const jerrylockPid = Number(readFileSync(`/proc/${shellPid}/task/${shellPid}/children`, "utf8").trim());

      tmux("send-keys", "-t", session, "C-c");
      await waitForLine(log, /^got SIGINT 1$/);
      // SIGUSR1 goes through jerrylock after any SIGINT it might forward, so
      // the count the child prints on it is final.
      process.kill(jerrylockPid, "SIGUSR1");
      const [, count] = await waitForLine(log, /^count SIGINT (\d+)$/);
      expect(count).toBe("1");

      // The child reads the terminal, so it is still in the foreground group.
      tmux("send-keys", "-t", session, "typed-line", "Enter");
      await waitForLine(log, /^read typed-line$/);
      const [, status] = await waitForLine(log, /^exit (\d+)$/);
      expect(status).toBe("0");
      expect(readFileSync(log, "utf8").match(/^got SIGINT/gm)).toEqual(["got SIGINT"]);
    }, 30_000);
  },
);
