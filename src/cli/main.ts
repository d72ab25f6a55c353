// The CLI entry: dispatches to a command, prints user errors as one message plus a hint (no stack),
// and lets bugs surface with their stack.

import { EdgefitError, UsageError } from '../onnx/errors.js';
import type { CommandContext } from './command.js';
import { COMMANDS } from './commands.js';
import { closest, formatHelp, parseArgs } from './parse-args.js';

const VERSION = '0.1.0';

function topHelp(): string {
  const names = Object.keys(COMMANDS);
  const width = Math.max(...names.map((n) => n.length)) + 2;
  const lines = [
    'edgefit: make the smallest, fastest ONNX model that still does the task, under a latency budget.',
    '',
    'Usage: edgefit <command> [args] [flags]',
    '',
    'Commands:',
    ...names.map((n) => `  ${n.padEnd(width)}${COMMANDS[n]!.summary}`),
    '',
    "Run 'edgefit <command> --help' for a command's flags.",
  ];
  return lines.join('\n') + '\n';
}

export async function main(argv: string[], io: { stdout?: NodeJS.WritableStream; stderr?: NodeJS.WritableStream } = {}): Promise<number> {
  const stdout = (io.stdout ?? process.stdout) as CommandContext['stdout'];
  const stderr = (io.stderr ?? process.stderr) as CommandContext['stderr'];
  const [name, ...rest] = argv;
  try {
    if (!name || name === '--help' || name === '-h' || name === 'help') {
      stdout.write(topHelp());
      return 0;
    }
    if (name === '--version' || name === '-v') {
      stdout.write(`edgefit ${VERSION}\n`);
      return 0;
    }
    const entry = COMMANDS[name];
    if (!entry) {
      const near = closest(name, Object.keys(COMMANDS));
      throw new UsageError(
        `unknown command '${name}'`,
        near ? `did you mean 'edgefit ${near}'? Run 'edgefit --help' for the list.` : "run 'edgefit --help' for the list of commands",
      );
    }
    const cmd = await entry.load();
    const parsed = parseArgs(rest, cmd.flags, cmd.args, cmd.name);
    if (parsed.help) {
      stdout.write(formatHelp(cmd));
      return 0;
    }
    const ctx: CommandContext = {
      args: parsed.args,
      flags: parsed.flags,
      stdout,
      stderr,
      log: (line: string) => void stderr.write(line + '\n'),
    };
    return await cmd.run(ctx);
  } catch (e) {
    return reportError(e, stderr);
  }
}

/** User errors: one message and a hint, exit 2 for usage, 1 otherwise. Bugs: the stack, exit 70. */
export function reportError(e: unknown, stderr: NodeJS.WritableStream): number {
  if (e instanceof EdgefitError) {
    stderr.write(`edgefit: error: ${e.message}\n`);
    if (e.hint) stderr.write(`hint: ${e.hint}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
  const err = e as Error;
  stderr.write(`edgefit: internal error (a bug; please report it with this output):\n${err?.stack ?? String(e)}\n`);
  return 70;
}
