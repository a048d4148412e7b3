import type { Command } from "./command.ts";
import { EXIT } from "./exit-codes.ts";

// TODO: replaced by the real clean and ls commands.
export const cleanCommand: Command = {
  name: "clean",
  summary: "remove lock files whose owners are gone",
  help: () => "Usage: jerrylock clean [DIR...]",
  run: async () => EXIT.ok,
};

export const lsCommand: Command = {
  name: "ls",
  summary: "list lock files with the verdict clean would reach",
  help: () => "Usage: jerrylock ls [DIR...]",
  run: async () => EXIT.ok,
};
