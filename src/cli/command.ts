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

/** Error for bad command-line input; the message names the option and value. */
export class UsageError extends Error {
  readonly code = "EUSAGE";

  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
