// The user's own unlabelled data for any model, with no task spec: one .npy whose leading axis is the
// samples (single-input models), or a folder with one `<input name>.npy` per input. Inputs the data
// does not hold take a --value, or zeros when they look like recurrent state. The samples are split,
// seeded, into calibration and held-out evaluation; calibration never sees a held-out sample.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import type * as ort from 'onnxruntime-node';
import { Tensor as OrtTensor } from 'onnxruntime-node';
import { filledTensor, inputRole, planFills, resolveInputs, type InputSpec } from '../runtime/inputs.js';
import { allocate } from '../runtime/tensors.js';
import { float32ToFloat16Bits } from '../onnx/dtype.js';
import type { Dim } from '../onnx/graph.js';
import { DataError } from './errors.js';
import { NpyReader } from './npy.js';
import { Rng } from './rng.js';

export interface UserDataOptions {
  /** Fixed values by input name (--value). */
  values?: Record<string, number>;
  /** Shapes of the inputs the data does not hold (--shape). */
  shapes?: Record<string, number[]>;
  /** Seed of the split (default 0). */
  seed?: number;
  /** Fraction of the samples held out for evaluation (default 0.3; at least one sample each side). */
  holdout?: number;
}

/** What a worker needs to reopen the same data and the same split. */
export interface UserDataRef {
  path: string;
  values?: Record<string, number>;
  shapes?: Record<string, number[]>;
  seed: number;
  holdout?: number;
}

export type Part = 'calibration' | 'holdout';

export interface UserData {
  path: string;
  /** Samples in the data. */
  n: number;
  /** Sample indices of each part, ascending; the two never share an index. */
  calibration: number[];
  holdout: number[];
  /** Input names read from the data files. */
  fromData: string[];
  /** One line per input that was filled without data (value, zeros). */
  notes: string[];
  describe: string;
  /** The model feeds of one sample (batch 1). */
  feeds(i: number): Record<string, ort.Tensor>;
  /** A fresh stream of up to `limit` samples of a part, in the shape PassContext.calibration takes. */
  stream(part: Part, limit?: number): () => AsyncIterable<Record<string, ort.Tensor>>;
  close(): void;
}

export const DEFAULT_HOLDOUT = 0.3;

/** The file in a folder that holds an input: `<name>.npy`, or with characters a file name cannot hold replaced by '_'. */
function fileFor(dir: string, name: string): string | undefined {
  for (const f of [name, name.replace(/[/\\:*?"<>|]/g, '_')]) {
    const p = join(dir, `${f}.npy`);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** Opens a .npy file or a folder of them for the model whose declared inputs are `inputs`. */
export function openUserData(path: string, inputs: readonly InputSpec[], opts: UserDataOptions = {}): UserData {
  if (!existsSync(path))
    throw new DataError(`data not found: ${path}`, 'pass --data <file.npy> (single-input models) or a folder with one <input name>.npy per input');
  const values = opts.values ?? {};
  const readers = new Map<string, NpyReader>();
  const isDir = statSync(path).isDirectory();
  if (isDir) {
    for (const inp of inputs) {
      const f = fileFor(path, inp.name);
      if (f) readers.set(inp.name, new NpyReader(f));
    }
    const single = inputs.filter((i) => values[i.name] === undefined);
    if (readers.size === 0 && single.length === 1 && existsSync(join(path, 'inputs.npy')))
      readers.set(single[0]!.name, new NpyReader(join(path, 'inputs.npy')));
    const known = new Set([...inputs.map((i) => `${i.name}.npy`), 'inputs.npy', 'labels.npy']);
    const stray = readdirSync(path).filter((f) => extname(f) === '.npy' && !known.has(f) && ![...readers.values()].some((r) => basename(r.file) === f));
    if (readers.size === 0)
      throw new DataError(
        `${path} holds no .npy file named after an input of the model${stray.length ? ` (found ${stray.join(', ')})` : ''}`,
        `name the files after the model's inputs: ${inputs.map((i) => `${i.name}.npy`).join(', ')}`,
      );
    if (stray.length)
      throw new DataError(
        `${path}: ${stray.join(', ')} ${stray.length > 1 ? 'are' : 'is'} not named after an input of the model`,
        `the inputs are: ${inputs.map((i) => i.name).join(', ')}`,
      );
  } else {
    if (extname(path).toLowerCase() !== '.npy')
      throw new DataError(`${path} is not a .npy file or a folder`, 'save the samples with numpy.save("data.npy", x), leading axis = samples');
    const open = inputs.filter((i) => values[i.name] === undefined && inputRole(i.name) !== 'state');
    if (open.length !== 1)
      throw new DataError(
        `${path} is one array, but the model has ${open.length === 0 ? 'no input left to fill with it' : `${open.length} inputs to fill: ${open.map((i) => i.name).join(', ')}`}`,
        `give a folder with one file per input (${open.map((i) => `${i.name}.npy`).join(', ')}), or --value for the inputs that hold a fixed value`,
      );
    readers.set(open[0]!.name, new NpyReader(path));
  }
  const counts = [...readers].map(([k, r]) => [k, r.rows] as const);
  const n = counts[0]![1];
  if (counts.some(([, c]) => c !== n))
    throw new DataError(
      `the data files hold different numbers of samples: ${counts.map(([k, c]) => `${k} ${c}`).join(', ')}`,
      'every file must have the samples on its leading axis, the same count in each',
    );
  if (n < 2)
    throw new DataError(
      `${path} holds ${n} sample${n === 1 ? '' : 's'}; calibration and held-out evaluation need at least 2`,
      'give more samples (a few hundred is typical)',
    );

  // Shapes of each data input's samples, checked against the model; symbolic dims they settle bind others.
  const dims: Record<string, number> = {};
  const sampleDims = new Map<string, number[]>();
  for (const [name, r] of readers) {
    const inp = inputs.find((i) => i.name === name)!;
    const d = sampleShape(inp, r);
    sampleDims.set(name, d);
    inp.shape?.forEach((s, k) => {
      if (typeof s === 'string') dims[s] = d[k]!;
    });
  }
  const plan = planFills(inputs, values, [...readers.keys()]);
  const rest = inputs.filter((i) => !readers.has(i.name));
  const missing = plan.filter((p) => p.fill === 'random').map((p) => p.name);
  if (missing.length)
    throw new DataError(
      `the data holds no samples for input${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m}'`).join(', ')}`,
      isDir
        ? `add ${missing.map((m) => `${m}.npy`).join(', ')} to ${path}, or give --value ${missing[0]}=<v>`
        : `give a folder with one .npy per input, or --value ${missing[0]}=<v>`,
    );
  const fixed = new Map<string, ort.Tensor>();
  for (const r of resolveInputs(rest, { dims, batch: 1, ...(opts.shapes ? { shapes: pick(opts.shapes, rest) } : {}) }))
    fixed.set(r.name, filledTensor(r, values[r.name] ?? 0));

  const rng = new Rng((opts.seed ?? 0) ^ 0x5a17);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const h = Math.min(n - 1, Math.max(1, Math.round(n * (opts.holdout ?? DEFAULT_HOLDOUT))));
  const holdout = order.slice(0, h).sort((a, b) => a - b);
  const calibration = order.slice(h).sort((a, b) => a - b);

  const feeds = (i: number): Record<string, ort.Tensor> => {
    if (!(i >= 0 && i < n)) throw new RangeError(`sample ${i} of ${n}`);
    const out: Record<string, ort.Tensor> = {};
    for (const inp of inputs) {
      const r = readers.get(inp.name);
      if (!r) {
        out[inp.name] = fixed.get(inp.name)!;
        continue;
      }
      const row = r.row(i);
      const bad = row.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0)
        throw new DataError(
          `${r.file}: sample ${i} has ${Number.isNaN(row[bad]!) ? 'NaN' : 'an infinite value'} at element ${bad}`,
          'clean the data: NaN / Inf are not valid inputs',
        );
      out[inp.name] = toTensor(inp, row, sampleDims.get(inp.name)!);
    }
    return out;
  };
  const notes = plan.filter((p) => p.note).map((p) => p.note!);
  return {
    path,
    n,
    calibration,
    holdout,
    fromData: [...readers.keys()],
    notes,
    describe: `${path}: ${n} samples of ${[...readers.keys()].join(', ')} (${calibration.length} calibration / ${holdout.length} held out, seed ${opts.seed ?? 0})`,
    feeds,
    stream(part, limit) {
      const idx = (part === 'calibration' ? calibration : holdout).slice(0, limit ?? Infinity);
      return async function* () {
        for (const i of idx) yield feeds(i);
      };
    },
    close() {
      for (const r of readers.values()) r.close();
    },
  };
}

/** Reopens the data of a reference (in a worker) for a model's declared inputs. */
export function openUserDataRef(ref: UserDataRef, inputs: readonly InputSpec[]): UserData {
  return openUserData(ref.path, inputs, {
    seed: ref.seed,
    ...(ref.values ? { values: ref.values } : {}),
    ...(ref.shapes ? { shapes: ref.shapes } : {}),
    ...(ref.holdout !== undefined ? { holdout: ref.holdout } : {}),
  });
}

function pick(shapes: Record<string, number[]>, inputs: readonly InputSpec[]): Record<string, number[]> {
  return Object.fromEntries(Object.entries(shapes).filter(([k]) => inputs.some((i) => i.name === k)));
}

/** A sample's feed shape: [1, …row] when the model has a batch axis the file leaves out, else the row itself. */
function sampleShape(inp: InputSpec, r: NpyReader): number[] {
  const row = r.rowShape;
  const decl: Dim[] | undefined = inp.shape && inp.shape.length ? inp.shape : undefined;
  let shape: number[];
  if (!decl || decl.length === row.length + 1) shape = [1, ...row];
  else if (decl.length === row.length) shape = [...row];
  else
    throw new DataError(
      `${r.file} holds samples of shape [${row.join(', ')}], but input '${inp.name}' is [${decl.map((d) => d ?? '?').join(', ')}]`,
      `save it as [samples, ${decl
        .slice(1)
        .map((d) => (typeof d === 'number' ? d : '…'))
        .join(', ')}]: the leading axis counts the samples`,
    );
  decl?.forEach((d, k) => {
    if (typeof d === 'number' && d !== shape[k])
      throw new DataError(
        `${r.file}: a sample feeds input '${inp.name}' as [${shape.join(', ')}], but the model fixes dim ${k} at ${d} ([${decl.map((x) => x ?? '?').join(', ')}])`,
        'save the samples in the shape the model takes (edgefit inspect shows it), with the samples on the leading axis',
      );
  });
  return shape;
}

function toTensor(inp: InputSpec, row: number[], dims: number[]): ort.Tensor {
  const type = inp.type ?? 'float32';
  const data = allocate(type, row.length);
  if (type === 'int64' || type === 'uint64') {
    const a = data as BigInt64Array;
    for (let k = 0; k < row.length; k++) a[k] = BigInt(Math.round(row[k]!));
  } else if (type === 'float16') {
    const a = data as Uint16Array;
    for (let k = 0; k < row.length; k++) a[k] = float32ToFloat16Bits(row[k]!);
  } else if (type === 'string') {
    throw new DataError(`input '${inp.name}' takes strings; .npy data gives numbers`, 'use a model with numeric inputs');
  } else {
    (data as Float32Array).set(row);
  }
  return new OrtTensor(type, data as never, dims);
}
