import type { Command } from "./command.ts";
import { EXIT } from "./exit-codes.ts";

// TODO: not built yet; this stub only keeps the command list complete.
export const runCommand: Command = {
  name: "run",
  summary: "(not built yet)",
  help: () => "Usage: jerrylock run (not built yet)",
  run: async () => {
    process.stderr.write("jerrylock run: not built yet\n");
    return EXIT.runUsage;
  },
};
