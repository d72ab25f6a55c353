// The `notes` generator: short free-text inspection notes, as operators type them at a line-side
// station, each labelled with the defect it reports (the `parts` classes: ok, scratch, dent, crack,
// missing). A note often names defects it ruled out ("no cracks, small dent near the hole": dent), in
// shorthand, with typos and mixed case, so a bag of words is not enough: the label depends on which
// mention is negated.

import { Rng, hash32 } from '../rng.js';
import { PART_CLASSES, type PartClass } from './parts.js';

export interface NoteSample {
  text: string;
  label: PartClass;
}

type Defect = Exclude<PartClass, 'ok'>;

const WORDS: Record<Defect, string[]> = {
  scratch: ['scratch', 'scratches', 'scratched surface', 'scuff mark', 'score line', 'abrasion'],
  dent: ['dent', 'dents', 'dented edge', 'ding', 'deformation', 'pressed in area'],
  crack: ['crack', 'cracks', 'hairline crack', 'fracture', 'split', 'fissure'],
  missing: ['missing hole', 'missing pad', 'component missing', 'absent feature', 'no solder pad', 'hole not punched'],
};
const PARTS = ['washer', 'bracket', 'pcb', 'board', 'flange', 'housing', 'plate', 'part'];
const WHERE = ['near the hole', 'at the rim', 'on the left edge', 'top side', 'under the label', 'by the mounting slot', 'centre', 'corner 2'];
const SIZE = ['small', 'minor', 'large', 'deep', 'faint', 'visible', '2mm', 'approx 5 mm'];
const OK = ['looks fine', 'ok', 'good', 'passed visual check', 'within spec', 'clean surface', 'no defects found', 'nothing to report'];
const NEG = ['no {d}', 'no {d} seen', '{d}: none', 'checked for {d}, none', 'not a {d}', 'without {d}', '{d} ruled out'];
const POS = ['{s} {d} {w}', '{d} {w}', 'found {s} {d}', '{d} on {p} {w}', 'reject: {d} {w}', '{s} {d}, {w}', 'operator saw {d} {w}'];

function fill(t: string, r: Rng, d: string): string {
  return t.replace('{d}', d).replace('{s}', r.pick(SIZE)).replace('{w}', r.pick(WHERE)).replace('{p}', r.pick(PARTS));
}

/** One typo (a dropped or doubled letter) in a random word, now and then. */
function typo(text: string, r: Rng): string {
  if (!r.chance(0.15)) return text;
  const i = r.int(1, Math.max(1, text.length - 2));
  if (!/[a-z]/i.test(text[i]!)) return text;
  return r.chance(0.5) ? text.slice(0, i) + text.slice(i + 1) : text.slice(0, i) + text[i] + text.slice(i);
}

export function noteSample(index: number, seed: number, opts: { defectRate?: number } = {}): NoteSample {
  const r = new Rng(hash32(`notes:${index}`, seed));
  const defects = PART_CLASSES.slice(1) as Defect[];
  const label: PartClass = r.chance(opts.defectRate ?? 0.6) ? defects[r.int(0, defects.length - 1)]! : 'ok';
  const others = defects.filter((d) => d !== label);
  const clauses: string[] = [];
  // ruled-out defects: zero to two, each a different one than the label
  for (let k = r.int(0, 2); k > 0; k--) clauses.push(fill(r.pick(NEG), r, r.pick(WORDS[r.pick(others)])));
  if (label === 'ok') clauses.push(r.pick(OK));
  else clauses.splice(r.int(0, clauses.length), 0, fill(r.pick(POS), r, r.pick(WORDS[label])));
  if (r.chance(0.4)) clauses.unshift(`${r.pick(PARTS)} ${r.int(1, 999)}`);
  let text = clauses.join(r.pick([', ', '; ', '. ', ' - ']));
  if (r.chance(0.3)) text = text.toUpperCase();
  return { text: typo(text, r), label };
}
