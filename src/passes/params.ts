// Validates a pass's parameters against its declaration: fills defaults, checks types and ranges,
// and rejects unknown keys with the closest known one.

import { UsageError } from '../onnx/errors.js';
import type { ParamSpec, ParamValues } from './pass.js';

function near(word: string, options: string[]): string | undefined {
  const lw = word.toLowerCase();
  return options.find((o) => o.toLowerCase().startsWith(lw.slice(0, 3))) ?? options.find((o) => o.toLowerCase().includes(lw));
}

export function validateParams(passName: string, specs: Record<string, ParamSpec>, raw: Record<string, unknown>): ParamValues {
  const out: ParamValues = {};
  for (const key of Object.keys(raw)) {
    if (!(key in specs)) {
      const n = near(key, Object.keys(specs));
      throw new UsageError(
        `unknown parameter '${key}' for pass ${passName}`,
        n ? `did you mean '${n}'? Known: ${Object.keys(specs).join(', ')}` : `known parameters: ${Object.keys(specs).join(', ') || '(none)'}`,
      );
    }
  }
  for (const [key, spec] of Object.entries(specs)) {
    const v = raw[key] ?? spec.default;
    if (v === undefined) continue;
    const bad = (what: string): never => {
      throw new UsageError(`pass ${passName}: parameter '${key}' ${what}, got ${JSON.stringify(v)}`, spec.description);
    };
    switch (spec.type) {
      case 'number':
      case 'integer': {
        const n = typeof v === 'string' ? Number(v) : v;
        if (typeof n !== 'number' || !Number.isFinite(n)) bad('must be a number');
        if (spec.type === 'integer' && !Number.isInteger(n)) bad('must be a whole number');
        if (spec.min !== undefined && (n as number) < spec.min) bad(`must be ≥ ${spec.min}`);
        if (spec.max !== undefined && (n as number) > spec.max) bad(`must be ≤ ${spec.max}`);
        out[key] = n as number;
        break;
      }
      case 'boolean':
        if (typeof v === 'boolean') out[key] = v;
        else if (v === 'true' || v === 'false') out[key] = v === 'true';
        else bad('must be true or false');
        break;
      case 'enum':
        if (typeof v !== 'string' || !spec.values?.includes(v)) bad(`must be one of ${spec.values?.join(', ')}`);
        out[key] = v as string;
        break;
      case 'string':
        if (typeof v !== 'string') bad('must be a string');
        out[key] = v as string;
        break;
      case 'string[]':
        if (typeof v === 'string')
          out[key] = v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean);
        else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) out[key] = v as string[];
        else bad('must be a list of strings');
        break;
    }
  }
  return out;
}
