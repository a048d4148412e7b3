// jerrylock's own messages during `run`. They go to stderr only, with a
// prefix, because stdout and stderr otherwise belong to the command.

export interface RunLog {
  /** Writes only with -v. */
  info(message: string): void;
  /** Writes always: something went wrong or jerrylock had to act harder. */
  warn(message: string): void;
}

export const RUN_LOG_PREFIX = "jerrylock run: ";

export function createRunLog(
  verbose: boolean,
  write: (text: string) => void = (text) => process.stderr.write(text),
  prefix: string = RUN_LOG_PREFIX,
): RunLog {
  return {
    info(message) {
      if (verbose) write(`${prefix}${message}\n`);
    },
    warn(message) {
      write(`${prefix}${message}\n`);
    },
  };
}
