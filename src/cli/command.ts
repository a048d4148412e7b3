/** One subcommand of the jerrylock executable. */
export interface Command {
  name: string;
  /** One line for the command list in `jerrylock --help`. */
  summary: string;
  /** Full `jerrylock NAME --help` text. */
  help(): string;
  /** Runs the command and resolves to the process exit status. */
  run(argv: string[]): Promise<number>;
}

/**
 * Turns a node:util parseArgs error into a usage message that names the
 * option and lists the valid ones. parseArgs's own text suggests "--" for
 * positionals, which never helps here.
 */
export function describeParseError(error: unknown, options: Record<string, { type: string; short?: string }>): string {
  const { code, message } = error as Error & { code?: string };
  const valid = Object.entries(options)
    .map(([name, option]) => (option.short === undefined ? `--${name}` : `-${option.short}/--${name}`))
    .join(", ");
  const option = (/'([^']+)'/.exec(message)?.[1] ?? "").replace(/ <value>$/, "");
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return `unknown option "${option}"; valid options: ${valid}`;
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    const hint = option.startsWith("--") ? `; write ${option}=VALUE for a value that starts with "-"` : "";
    return `option "${option}" needs a value${hint}`;
  }
  return message.replace(/\.$/, "");
}

/** Error for bad command-line input; the message names the option and value. */
export class UsageError extends Error {
  readonly code = "EUSAGE";

  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
