import type { Command } from "./command.ts";
import { EXIT } from "./exit-codes.ts";

// TODO: not built yet; this stub only keeps the command list complete.
export const withCommand: Command = {
  name: "with",
  summary: "(not built yet)",
  help: () => "Usage: jerrylock with (not built yet)",
  run: async () => {
    process.stderr.write("jerrylock with: not built yet\n");
    return EXIT.runUsage;
  },
};
