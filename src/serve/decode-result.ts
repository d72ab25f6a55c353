// What an image request gets back: the model's output decoded by the task spec (text for CTC, a label
// and its probability for classes, the vector for embeddings), with the confidence the cascade uses.

import { classProbabilities, ctcGreedy, whitespaceClasses } from '../eval/decode.js';
import { loadCtcAlphabet } from '../data/dictionary.js';
import type { OutputSpec } from '../data/spec.js';
import { HttpError } from './http-error.js';
import type { WireTensors } from './wire.js';

export type Decoded =
  | { kind: 'text'; text: string; confidence: number; least: number }
  | { kind: 'label'; label: string; score: number; confidence: number; probabilities: Record<string, number> }
  | { kind: 'embedding'; embedding: number[]; confidence: number };

export type Decoder = (outputs: WireTensors) => Decoded;

/**
 * Which confidence the cascade reads from a text answer: 'least', its least sure character (the default:
 * on rec's int8 rung, calibrated on 200 items for 99% agreement, it escalates 8.3% of new images against
 * 12.7% for the mean; scripts/cascade-confidence.mjs), or 'mean', PaddleOCR's score. Labels and
 * embeddings have one confidence.
 */
export type CascadeConfidence = 'least' | 'mean';

export function cascadeConfidence(d: Decoded, measure: CascadeConfidence): number {
  return d.kind === 'text' && measure === 'least' ? d.least : d.confidence;
}

/** A decoder for a task's output spec; dictionaries are read once, here. */
export function makeDecoder(out: OutputSpec, baseDir?: string, ignoreWhitespace = false): Decoder {
  const pick = (outputs: WireTensors) => {
    const t = out.name ? outputs[out.name] : Object.values(outputs)[0];
    if (!t) throw new HttpError(500, 'no_output', `the model has no output '${out.name}'`, 'fix output.name in the task spec');
    return t;
  };
  if (out.decode === 'ctc') {
    const alphabet = loadCtcAlphabet(out.dictionary, out.blank, out.appendSpace, baseDir);
    const uncounted = ignoreWhitespace ? whitespaceClasses(alphabet) : undefined;
    return (outputs) => {
      const t = pick(outputs);
      const [r] = ctcGreedy(t.data as Float32Array, t.dims, alphabet, out.blank, uncounted);
      return { kind: 'text', text: r?.text ?? '', confidence: r?.confidence ?? 0, least: r?.least ?? 0 };
    };
  }
  if (out.decode === 'classes') {
    return (outputs) => {
      const t = pick(outputs);
      const [row] = classProbabilities(Float32Array.from(t.data as Float32Array), 1, out.activation);
      let k = 0;
      for (let i = 1; i < row!.length; i++) if (row![i]! > row![k]!) k = i;
      const probabilities: Record<string, number> = {};
      row!.forEach((p, i) => {
        probabilities[out.classes[i] ?? String(i)] = p;
      });
      const score = row![k]!;
      return { kind: 'label', label: out.classes[k] ?? String(k), score, confidence: score, probabilities };
    };
  }
  return (outputs) => ({ kind: 'embedding', embedding: Array.from(pick(outputs).data as Float32Array), confidence: 1 });
}

/** The label a classifier reports for a good part: 'ok' or 'good' when a class is so named, else the first class. */
export function goodLabel(classes: readonly string[]): string | undefined {
  return classes.find((c) => /^(ok|good)$/i.test(c)) ?? classes[0];
}

/** Whether a decoded result is a defect: a label other than the good one, or one of `defectLabels` when given. */
export function isDefect(d: Decoded, classes: readonly string[], defectLabels?: readonly string[]): boolean | undefined {
  if (d.kind !== 'label') return undefined;
  if (defectLabels?.length) return defectLabels.includes(d.label);
  return d.label !== goodLabel(classes);
}
