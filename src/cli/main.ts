#!/usr/bin/env bun
// Entry point of the jerrylock executable: picks the subcommand and maps
// usage errors to the exit status that subcommand documents.
import { VERSION, TARGET } from "../version.ts";
import { UsageError, type Command } from "./command.ts";
import { cleanCommand, lsCommand } from "./clean.ts";
import { runCommand } from "./run.ts";
import { withCommand } from "./with.ts";
import { EXIT } from "./exit-codes.ts";

const commands: Command[] = [cleanCommand, lsCommand, runCommand, withCommand];

function mainHelp(): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  const lines = commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`);
  return [
    "Usage: jerrylock COMMAND [OPTIONS]",
    "",
    "Removes lock files whose owners are gone, and never one that a live process",
    "holds or has open.",
    "",
    "Commands:",
    ...lines,
    "",
    "Options:",
    "  -h, --help     show this help, or a command's help after the command",
    "  -V, --version  show the version and build target",
    "",
    "Run 'jerrylock COMMAND --help' for the options of one command.",
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;

  if (first === undefined) {
    process.stderr.write(`${mainHelp()}\n`);
    return EXIT.usage;
  }
  if (first === "-h" || first === "--help" || first === "help") {
    process.stdout.write(`${mainHelp()}\n`);
    return EXIT.ok;
  }
  if (first === "-V" || first === "--version") {
    process.stdout.write(`jerrylock ${VERSION} (${TARGET})\n`);
    return EXIT.ok;
  }

  // Bun decodes arguments as UTF-8 and replaces invalid bytes with U+FFFD, so
  // such a path would name another file than the one the user meant.
  const mangled = argv.findIndex((argument) => argument.includes("\uFFFD"));
  if (mangled >= 0) {
    process.stderr.write(`jerrylock: argument ${mangled + 1} contains bytes that are not valid UTF-8 (shown as U+FFFD), so jerrylock cannot pass it on exactly; rename the path or run from its directory with a valid name\n`);
    return first === "run" || first === "with" ? EXIT.runUsage : EXIT.usage;
  }

  const command = commands.find((candidate) => candidate.name === first);
  if (command === undefined) {
    const names = commands.map((candidate) => candidate.name).join(", ");
    process.stderr.write(`jerrylock: unknown command "${first}"; valid commands: ${names}. See 'jerrylock --help'\n`);
    return EXIT.usage;
  }
  // run and with find their own options before CMD, so "-h" in CMD's arguments stays CMD's.
  const parsesOwnHelp = command.name === "run" || command.name === "with";
  if (!parsesOwnHelp && (rest.includes("-h") || rest.includes("--help"))) {
    process.stdout.write(`${command.help()}\n`);
    return EXIT.ok;
  }

  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`jerrylock ${command.name}: ${error.message}. See 'jerrylock ${command.name} --help'\n`);
      return command.name === "run" || command.name === "with" ? EXIT.runUsage : EXIT.usage;
    }
    throw error;
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
