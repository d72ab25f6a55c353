// Opset upgrade of the default ONNX domain, from 7–12 to 13–21: attributes that became inputs (Clip 11,
// Slice 10, Pad 11, TopK 10, Dropout 12, Split 13, Squeeze/Unsqueeze 13, ReduceSum 13, other Reduce* 18),
// Softmax-family semantics (2-D coercion before 13), Upsample → Resize, removed attributes. One adapter
// per (op, version where it changed), applied version by version as ONNX's own converter does.

import { DataType, numbersToRaw } from './dtype.js';
import { EdgefitError, UsageError } from './errors.js';
import { Node, type Graph } from './graph.js';
import { nodeReads } from './graph-utils.js';
import type { Model } from './model.js';
import { inferShapes } from './shape-inference.js';
import { Tensor } from './tensor.js';

export interface UpgradeResult {
  from: number;
  to: number;
  /** How many times each adapter fired, e.g. { 'Clip@11': 28 }. */
  adapted: Record<string, number>;
}

/** What an adapter may use: element types and ranks where known, and a way to add constants. */
interface UpCtx {
  graph: Graph;
  fresh(base: string): string;
  elemType(value: string): number | undefined;
  rank(value: string): number | undefined;
  /** Whether any node (or graph output) reads the value. */
  isRead(value: string): boolean;
  /** Adds a constant (as an initializer of the graph being rewritten) and returns its name. */
  constant(base: string, dataType: number, dims: number[], values: number[]): string;
}

/** Returns the nodes that replace `n` (n itself, changed in place, is fine). */
type Adapter = (n: Node, c: UpCtx) => Node[];

const INT64_MAX = 2 ** 63; // INT64_MAX rounds to 2^63 as a double

function moveIntsToInput(attr: string, index: number): Adapter {
  return (n, c) => {
    const v = n.ints(attr);
    n.attributes.delete(attr);
    if (v) {
      while (n.inputs.length < index) n.inputs.push('');
      n.inputs[index] = c.constant(`${n.name || n.opType}_${attr}`, DataType.INT64, [v.length], v);
    }
    return [n];
  };
}

function dropAttrs(...names: string[]): Adapter {
  return (n) => {
    for (const a of names) n.attributes.delete(a);
    return [n];
  };
}

/** Softmax, LogSoftmax, Hardmax before 13 coerce the input to 2-D at `axis` (default 1). */
const softmax13: Adapter = (n, c) => {
  const axis = n.int('axis', 1);
  const x = n.inputs[0]!;
  const rank = c.rank(x);
  n.attributes.delete('axis');
  if (axis === -1 || (rank !== undefined && (axis === rank - 1 || axis + rank === rank - 1))) {
    n.set('axis', { type: 'int', value: -1 });
    return [n];
  }
  const base = n.name || n.opType;
  const flat = c.fresh(`${base}_2d`);
  const y2 = c.fresh(`${base}_y2d`);
  const shape = c.fresh(`${base}_shape`);
  const out = n.outputs[0]!;
  const flatten = new Node('Flatten', [x], [flat], c.fresh(`${base}_flatten`), '', { axis: { type: 'int', value: axis } });
  const core = new Node(n.opType, [flat], [y2], n.name, '', { axis: { type: 'int', value: -1 } });
  const shapeOf = new Node('Shape', [x], [shape], c.fresh(`${base}_shapeof`));
  const back = new Node('Reshape', [y2, shape], [out], c.fresh(`${base}_reshape`));
  return [flatten, core, shapeOf, back];
};

const clip11: Adapter = (n, c) => {
  const min = n.float('min');
  const max = n.float('max');
  n.attributes.delete('min');
  n.attributes.delete('max');
  const ty = c.elemType(n.inputs[0]!) ?? DataType.FLOAT;
  const base = n.name || 'Clip';
  n.inputs = [
    n.inputs[0]!,
    min !== undefined ? c.constant(`${base}_min`, ty, [], [min]) : '',
    max !== undefined ? c.constant(`${base}_max`, ty, [], [max]) : '',
  ];
  while (n.inputs.length > 1 && n.inputs[n.inputs.length - 1] === '') n.inputs.pop();
  return [n];
};

const slice10: Adapter = (n, c) => {
  const starts = n.ints('starts') ?? [];
  const ends = (n.ints('ends') ?? []).map((e) => Math.min(e, INT64_MAX));
  const axes = n.ints('axes');
  for (const a of ['starts', 'ends', 'axes']) n.attributes.delete(a);
  const base = n.name || 'Slice';
  n.inputs = [
    n.inputs[0]!,
    c.constant(`${base}_starts`, DataType.INT64, [starts.length], starts),
    c.constant(`${base}_ends`, DataType.INT64, [ends.length], ends),
  ];
  if (axes) n.inputs.push(c.constant(`${base}_axes`, DataType.INT64, [axes.length], axes));
  return [n];
};

const pad11: Adapter = (n, c) => {
  const pads = n.ints('pads') ?? n.ints('paddings') ?? [];
  const value = n.float('value', 0);
  for (const a of ['pads', 'paddings', 'value']) n.attributes.delete(a);
  const base = n.name || 'Pad';
  n.inputs = [n.inputs[0]!, c.constant(`${base}_pads`, DataType.INT64, [pads.length], pads)];
  if (value !== 0) n.inputs.push(c.constant(`${base}_value`, c.elemType(n.inputs[0]!) ?? DataType.FLOAT, [], [value]));
  return [n];
};

const topk10: Adapter = (n, c) => {
  const k = n.int('k');
  n.attributes.delete('k');
  if (k !== undefined) n.inputs = [n.inputs[0]!, c.constant(`${n.name || 'TopK'}_k`, DataType.INT64, [1], [k])];
  return [n];
};

const dropout12: Adapter = (n, c) => {
  const ratio = n.float('ratio');
  n.attributes.delete('ratio');
  if (ratio !== undefined) n.inputs = [n.inputs[0]!, c.constant(`${n.name || 'Dropout'}_ratio`, DataType.FLOAT, [], [ratio])];
  return [n];
};

const batchNorm9: Adapter = (n) => {
  if (n.int('spatial', 1) !== 1)
    throw new EdgefitError(
      `BatchNormalization '${n.name}' uses spatial=0, which opset 9 removed`,
      'E_UPGRADE',
      'this model cannot be upgraded; re-export it at a newer opset',
    );
  n.attributes.delete('spatial');
  return [n];
};

/** Upsample (deprecated at 10) → Resize-10: same inputs (X, scales); opset 7 held scales as an attribute. */
const upsample10: Adapter = (n, c) => {
  const scales = n.floats('scales');
  const mode = n.string('mode', 'nearest');
  const inputs = [n.inputs[0]!, scales ? c.constant(`${n.name || 'Upsample'}_scales`, DataType.FLOAT, [scales.length], scales) : n.inputs[1]!];
  const r = new Node('Resize', inputs, [...n.outputs], n.name, '', { mode: { type: 'string', value: mode === 'bilinear' ? 'linear' : mode } });
  return [r];
};

/** Resize-10 (X, scales) was asymmetric, with nearest rounding down; 11 made both explicit. */
const resize11: Adapter = (n) => {
  n.inputs = [n.inputs[0]!, '', n.inputs[1]!];
  n.set('coordinate_transformation_mode', { type: 'string', value: 'asymmetric' });
  if (n.string('mode', 'nearest') === 'nearest') n.set('nearest_mode', { type: 'string', value: 'floor' });
  return [n];
};

/** Split-18 needs the split input or num_outputs; an even split had neither before. */
const split18: Adapter = (n) => {
  if (!n.inputs[1] && n.int('num_outputs') === undefined) n.set('num_outputs', { type: 'int', value: n.outputs.length });
  return [n];
};

/**
 * Before 14, a BatchNormalization with more than one output ran in training mode (batch statistics);
 * 14 says so with training_mode=1 and keeps three outputs (saved mean/var are gone).
 */
const batchNorm14: Adapter = (n, c) => {
  if (n.outputs.length > 1 && n.attr('training_mode') === undefined) {
    const gone = n.outputs.slice(3).filter((o) => o && c.isRead(o));
    if (gone.length)
      throw new EdgefitError(
        `BatchNormalization '${n.name}' feeds its saved mean/variance (${gone.join(', ')}) to other nodes; opset 14 has no such outputs`,
        'E_UPGRADE',
        'upgrade to opset 13 at most, or re-export the model for inference',
      );
    n.outputs = n.outputs.slice(0, 3);
    n.set('training_mode', { type: 'int', value: 1 });
  }
  return [n];
};

const rename =
  (to: string): Adapter =>
  (n) => {
    n.opType = to;
    return [n];
  };

const REDUCE_18 = ['ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare'];

/** `Op@version` → adapter that brings a node from version-1 semantics to `version`. */
const ADAPTERS: Record<string, Adapter> = {
  'BatchNormalization@7': dropAttrs('is_test'),
  'Dropout@7': dropAttrs('is_test'),
  'Gemm@7': dropAttrs('broadcast'),
  'BatchNormalization@9': batchNorm9,
  'Slice@10': slice10,
  'TopK@10': topk10,
  'Upsample@10': upsample10,
  'Clip@11': clip11,
  'Pad@11': pad11,
  'Resize@11': resize11,
  'Scatter@11': rename('ScatterElements'),
  'Dropout@12': dropout12,
  'Split@13': moveIntsToInput('split', 1),
  'BatchNormalization@14': batchNorm14,
  'Split@18': split18,
  'Squeeze@13': moveIntsToInput('axes', 1),
  'Unsqueeze@13': moveIntsToInput('axes', 1),
  'ReduceSum@13': moveIntsToInput('axes', 1),
  'Softmax@13': softmax13,
  'LogSoftmax@13': softmax13,
  'Hardmax@13': softmax13,
};
for (const op of REDUCE_18) ADAPTERS[`${op}@18`] = moveIntsToInput('axes', 1);

/** Ops whose meaning changed in a way no adapter here handles: upgrading them is refused. */
const UNSUPPORTED: Record<string, number> = { Scan: 9 };

/** The IR version each opset needs at least. */
function irFor(opset: number): number {
  if (opset <= 8) return 3;
  if (opset === 9) return 4;
  if (opset === 10) return 5;
  if (opset === 11) return 6;
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

export const UPGRADE_RANGE = { minFrom: 7, maxTo: 21 };

/** Upgrades the default-domain opset of `model` in place to `target` and says what it changed. */
export function upgradeOpset(model: Model, target: number): UpgradeResult {
  const from = model.opset('') ?? model.opset('ai.onnx');
  if (from === undefined) throw new UsageError('the model imports no default-domain (ai.onnx) opset, so there is nothing to upgrade');
  if (!Number.isInteger(target) || target < 13 || target > UPGRADE_RANGE.maxTo)
    throw new UsageError(`cannot upgrade to opset ${target}`, `pick a target opset from 13 to ${UPGRADE_RANGE.maxTo}`);
  if (from > target)
    throw new UsageError(`the model is at opset ${from}, newer than the target ${target}`, "downgrading is not supported; pick a target ≥ the model's opset");
  const result: UpgradeResult = { from, to: target, adapted: {} };
  if (from === target) return result;
  if (from < UPGRADE_RANGE.minFrom)
    throw new UsageError(`the model is at opset ${from}; upgrades start from opset ${UPGRADE_RANGE.minFrom}`, 're-export the model at opset 7 or newer');

  const blocked: string[] = [];
  model.graph.walk((g) => {
    for (const n of g.nodes)
      if (n.isDefaultDomain && UNSUPPORTED[n.opType] !== undefined && from < UNSUPPORTED[n.opType]! && target >= UNSUPPORTED[n.opType]!)
        blocked.push(`${n.opType} '${n.name}'`);
  });
  if (blocked.length)
    throw new EdgefitError(
      `cannot upgrade opset ${from} → ${target}: no adapter for ${blocked.join(', ')}`,
      'E_UPGRADE',
      're-export the model at a newer opset',
    );

  // types and ranks come from the model before any change; rewrites keep every original value name
  const inf = inferShapes(model);
  const upgradeGraph = (g: Graph) => {
    const fresh = g.namer();
    const declared = (v: string) => {
      const t = g.typeOf(v);
      return t?.kind === 'tensor' ? t : undefined;
    };
    const reads = new Set<string>(g.outputs.map((o) => o.name));
    for (const n of g.nodes) for (const r of nodeReads(n)) reads.add(r);
    const ctx: UpCtx = {
      graph: g,
      fresh,
      isRead: (v) => reads.has(v),
      elemType: (v) => inf.types.get(v)?.elemType ?? declared(v)?.elemType,
      rank: (v) => inf.types.get(v)?.shape?.length ?? declared(v)?.shape?.length,
      constant: (base, dataType, dims, values) => {
        const name = fresh(base);
        g.initializers.set(name, new Tensor(name, dataType, dims, numbersToRaw(dataType, values)));
        return name;
      },
    };
    for (const n of g.nodes) for (const sg of n.subgraphs()) upgradeGraph(sg);
    for (let v = from + 1; v <= target; v++) {
      const next: Node[] = [];
      for (const n of g.nodes) {
        const adapter = n.isDefaultDomain ? ADAPTERS[`${n.opType}@${v}`] : undefined;
        if (!adapter) {
          next.push(n);
          continue;
        }
        const key = `${n.opType}@${v}`;
        next.push(...adapter(n, ctx));
        result.adapted[key] = (result.adapted[key] ?? 0) + 1;
      }
      g.nodes = next;
    }
  };
  upgradeGraph(model.graph);
  // one import for the default domain, spelled ''
  model.opsetImports = [{ domain: '', version: target }, ...model.opsetImports.filter((o) => o.domain !== '' && o.domain !== 'ai.onnx')];
  model.irVersion = Math.max(model.irVersion, irFor(target));
  return result;
}
