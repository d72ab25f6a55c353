// --output-kind name=kind: what an output is, said by the user where the heuristic of outputKind()
// (src/eval/agreement.ts) guesses wrong: a [N, 4] box regression taken for class scores, or a state in
// [0, 1] with spatial axes taken for a map. The kind decides the metric and the default floor.

import { UsageError } from '../onnx/errors.js';
import type { OutputKind } from './agreement.js';

export const OUTPUT_KINDS: readonly OutputKind[] = ['class-scores', 'decision', 'map', 'dense'];

/** Parses ['boxes=dense', 'mask=map'] → { boxes: 'dense', mask: 'map' }; names are checked against `outputs` when given. */
export function parseOutputKinds(flags: readonly string[] | undefined, outputs?: readonly string[]): Record<string, OutputKind> {
  const out: Record<string, OutputKind> = {};
  for (const piece of flags ?? []) {
    const eq = piece.lastIndexOf('=');
    const name = piece.slice(0, eq).trim();
    const kind = piece.slice(eq + 1).trim() as OutputKind;
    if (eq <= 0 || !OUTPUT_KINDS.includes(kind))
      throw new UsageError(`--output-kind '${piece}' is not output=kind`, `write --output-kind <output name>=<${OUTPUT_KINDS.join('|')}>`);
    if (name in out && out[name] !== kind) throw new UsageError(`--output-kind gives output '${name}' twice`);
    out[name] = kind;
  }
  checkOutputNames(out, outputs);
  return out;
}

/** Refuses a kind given for an output the model does not have. */
export function checkOutputNames(kinds: Record<string, OutputKind>, outputs: readonly string[] | undefined): void {
  if (!outputs) return;
  const unknown = Object.keys(kinds).filter((k) => !outputs.includes(k));
  if (unknown.length)
    throw new UsageError(
      `--output-kind names ${unknown.map((u) => `'${u}'`).join(', ')}, which the model does not output`,
      `its outputs are ${outputs.map((o) => `'${o}'`).join(', ')}`,
    );
}
