// Parses argv against a command's declared flags. Unknown flags and bad values are UsageErrors that
// name the flag and suggest the closest one.

import { UsageError } from '../onnx/errors.js';
import type { ArgSpec, FlagSpec, FlagValues } from './command.js';
import { closest } from '../util/text.js';

export interface Parsed {
  args: string[];
  flags: FlagValues;
  help: boolean;
}

export { closest } from '../util/text.js';

function convert(spec: FlagSpec, raw: string): string | number | boolean {
  const name = `--${spec.name}`;
  switch (spec.type) {
    case 'number': {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(v)) throw new UsageError(`${name} expects a number, got '${raw}'`);
      return v;
    }
    case 'integer': {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isSafeInteger(v)) throw new UsageError(`${name} expects a whole number, got '${raw}'`);
      return v;
    }
    case 'boolean':
      if (['true', '1', 'yes', 'on'].includes(raw)) return true;
      if (['false', '0', 'no', 'off'].includes(raw)) return false;
      throw new UsageError(`${name} expects true or false, got '${raw}'`);
    default:
      if (spec.values && !spec.values.includes(raw)) {
        const near = closest(raw, spec.values);
        throw new UsageError(`${name} must be one of ${spec.values.join(', ')}; got '${raw}'`, near ? `did you mean '${near}'?` : undefined);
      }
      return raw;
  }
}

export function parseArgs(argv: string[], flags: FlagSpec[], argSpecs: ArgSpec[], command: string): Parsed {
  const byName = new Map<string, FlagSpec>();
  for (const f of flags) {
    byName.set(f.name, f);
    if (f.short) byName.set(f.short, f);
  }
  const out: FlagValues = {};
  const args: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (a === '--help' || a === '-h') {
      help = true;
      continue;
    }
    if (a.startsWith('-') && a.length > 1 && !/^-\d/.test(a)) {
      const long = a.startsWith('--');
      let key = long ? a.slice(2) : a.slice(1);
      let inline: string | undefined;
      const eq = key.indexOf('=');
      if (eq >= 0) {
        inline = key.slice(eq + 1);
        key = key.slice(0, eq);
      }
      let spec = byName.get(key);
      let negated = false;
      if (!spec && long && key.startsWith('no-')) {
        const s = byName.get(key.slice(3));
        if (s?.type === 'boolean') {
          spec = s;
          negated = true;
        }
      }
      if (!spec) {
        const near = closest(
          key,
          flags.map((f) => f.name),
        );
        throw new UsageError(
          `unknown flag '${a}' for 'edgefit ${command}'`,
          near ? `did you mean '--${near}'? See 'edgefit ${command} --help'.` : `see 'edgefit ${command} --help'`,
        );
      }
      if (spec.type === 'boolean') {
        out[spec.name] = negated ? false : inline !== undefined ? convert(spec, inline) : true;
        continue;
      }
      let raw = inline;
      if (raw === undefined) {
        raw = argv[++i];
        if (raw === undefined) throw new UsageError(`--${spec.name} needs a value`, `see 'edgefit ${command} --help'`);
      }
      if (spec.type === 'string[]') {
        const prev = (out[spec.name] as string[] | undefined) ?? [];
        out[spec.name] = [
          ...prev,
          ...raw
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
        ];
      } else {
        const v = convert(spec, raw);
        // last-one-wins would silently drop a value the user typed (e.g. two different -o paths)
        if (out[spec.name] !== undefined && out[spec.name] !== v)
          throw new UsageError(
            `--${spec.name} is given twice, as '${String(out[spec.name])}' and '${raw}'`,
            `give --${spec.name} once; see 'edgefit ${command} --help'`,
          );
        out[spec.name] = v;
      }
      continue;
    }
    args.push(a);
  }
  for (const f of flags) if (out[f.name] === undefined && f.default !== undefined) out[f.name] = f.default;
  if (!help) {
    const required = argSpecs.filter((s) => !s.optional).length;
    const variadic = argSpecs.some((s) => s.variadic);
    if (args.length < required)
      throw new UsageError(
        `'edgefit ${command}' needs ${argSpecs
          .filter((s) => !s.optional)
          .map((s) => `<${s.name}>`)
          .join(' ')}`,
        `see 'edgefit ${command} --help'`,
      );
    if (!variadic && args.length > argSpecs.length)
      throw new UsageError(`'edgefit ${command}' got an unexpected argument '${args[argSpecs.length]}'`, `see 'edgefit ${command} --help'`);
  }
  return { args, flags: out, help };
}

export function formatHelp(cmd: { name: string; summary: string; details?: string; args: ArgSpec[]; flags: FlagSpec[] }): string {
  const argText = cmd.args.map((a) => (a.optional ? `[${a.name}${a.variadic ? '...' : ''}]` : `<${a.name}${a.variadic ? '...' : ''}>`)).join(' ');
  const lines = [`edgefit ${cmd.name} ${argText} [flags]`, '', cmd.summary, ''];
  if (cmd.args.length) {
    lines.push('Arguments:');
    for (const a of cmd.args) lines.push(`  ${a.name.padEnd(24)} ${a.description}`);
    lines.push('');
  }
  lines.push('Flags:');
  for (const f of cmd.flags) {
    const ph = f.type === 'boolean' ? '' : ` <${f.placeholder ?? (f.values ? f.values.join('|') : f.type)}>`;
    const left = `${f.short ? `-${f.short}, ` : ''}--${f.name}${ph}`;
    const def = f.default !== undefined && f.type !== 'boolean' ? ` (default: ${Array.isArray(f.default) ? f.default.join(',') : f.default})` : '';
    lines.push(`  ${left.padEnd(30)} ${f.description}${def}`);
  }
  lines.push(`  ${'-h, --help'.padEnd(30)} show this help`);
  if (cmd.details) lines.push('', cmd.details.trimEnd());
  return lines.join('\n') + '\n';
}
