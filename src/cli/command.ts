// What a CLI command is: its flags declared as data (so --help, validation and docs come from one place)
// and a run function. Commands are thin: parse, call the library, print.

import type { Writable } from 'node:stream';

export type FlagType = 'string' | 'number' | 'integer' | 'boolean' | 'string[]';

export interface FlagSpec {
  name: string;
  short?: string;
  type: FlagType;
  description: string;
  default?: string | number | boolean | string[];
  /** Allowed values for a string flag. */
  values?: readonly string[];
  /** Shown in --help: `--threads <n>`. */
  placeholder?: string;
}

export interface ArgSpec {
  name: string;
  description: string;
  optional?: boolean;
  variadic?: boolean;
}

export type FlagValues = Record<string, string | number | boolean | string[] | undefined>;

export interface CommandContext {
  args: string[];
  flags: FlagValues;
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
  /** Prints a line to stderr unless --json asked for machine output only on stdout. */
  log(line: string): void;
}

export interface Command {
  name: string;
  summary: string;
  /** More text for --help, after the flags. */
  details?: string;
  args: ArgSpec[];
  flags: FlagSpec[];
  /** Returns the process exit code. */
  run(ctx: CommandContext): Promise<number>;
}
