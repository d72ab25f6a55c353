// float16 weights and compute: float initializers, constants and intermediate values become float16;
// graph inputs and outputs stay float32 (a Cast at each boundary); ops on the block list (numerically
// sensitive: Softmax, normalizations, exp/log, reductions) stay float32 with Casts around them.
// On x86 CPUs ORT has few fp16 kernels and inserts its own Casts, so this pass is for size and for
// targets with fp16 arithmetic; the benchmark reports what it does here.

import { DataType } from '../onnx/dtype.js';
import { Node, attr, type Graph } from '../onnx/graph.js';
import type { Model } from '../onnx/model.js';
import { Tensor } from '../onnx/tensor.js';
import type { Pass, PassRecord, Skipped } from './pass.js';
import { elementTypes } from './quant/elem-types.js';
import { dropUnusedInitializers, modelNamer } from './quant/graph.js';
import { foldExporterHabits } from '../onnx/fold-exporter-habits.js';

export const DEFAULT_FP16_BLOCK_LIST = [
  'Softmax',
  'LogSoftmax',
  'LayerNormalization',
  'InstanceNormalization',
  'GroupNormalization',
  'Exp',
  'Log',
  'Pow',
  'ReduceMean',
  'ReduceSum',
  'ReduceSumSquare',
  'ReduceL2',
  'ReduceLogSumExp',
  'CumSum',
];

/** Inputs that ONNX requires to be float32 whatever the op's T (Resize scales, Upsample scales). */
const FLOAT32_ONLY_INPUTS: Record<string, number[]> = { Resize: [2], Upsample: [1] };

export interface Fp16Params {
  [k: string]: number | boolean | string | string[] | undefined;
  blockList?: string[];
  exclude?: string[];
  /** Fold exporter habits first (default true). Not a declared parameter: the CLI and the search always fold; tests turn it off. */
  foldExporterHabits?: boolean;
}

const FP16_MAX = 65504;

function beyondFp16(t: Tensor): boolean {
  return t.toFloat32().some((x) => Math.abs(x) > FP16_MAX && Number.isFinite(x));
}

function toFp16(t: Tensor, name: string): { tensor: Tensor; clamped: number } {
  const v = t.toFloat32();
  let clamped = 0;
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (Math.abs(x) > FP16_MAX && Number.isFinite(x)) {
      clamped++;
      out[i] = Math.sign(x) * FP16_MAX;
    } else out[i] = x;
  }
  return { tensor: Tensor.fromNumbers(name, DataType.FLOAT16, t.dims, out), clamped };
}

interface Fp16Tally {
  converted: number;
  clamped: number;
  fp16Nodes: number;
  float32Nodes: number;
  casts: number;
  subgraphs: number;
  skipped: Skipped[];
}

export async function convertFp16(model: Model, params: Fp16Params): Promise<{ model: Model; record: PassRecord }> {
  const blockList = [...(params.blockList ?? DEFAULT_FP16_BLOCK_LIST), ...(params.exclude ?? [])];
  const out = model.clone();
  if (params.foldExporterHabits !== false) foldExporterHabits(out);
  const t: Fp16Tally = { converted: 0, clamped: 0, fp16Nodes: 0, float32Nodes: 0, casts: 0, subgraphs: 0, skipped: [] };
  convertGraph(out.graph, new Map(), { blockList, exclude: params.exclude ?? [], fresh: modelNamer(out.graph) }, t);
  const notes: string[] = [];
  if (t.clamped) notes.push(`${t.clamped} weight values beyond ±65504 were clamped to the float16 range`);
  if (t.subgraphs) notes.push(`${t.subgraphs} If/Loop/Scan bodies converted; values crossing a body boundary stay float32, so branch output types agree`);
  return {
    model: out,
    record: {
      pass: 'fp16',
      params: { blockList: params.blockList ?? DEFAULT_FP16_BLOCK_LIST, exclude: params.exclude ?? [] },
      stats: { initializersConverted: t.converted, fp16Nodes: t.fp16Nodes, float32Nodes: t.float32Nodes, casts: t.casts, subgraphs: t.subgraphs },
      skipped: t.skipped,
      notes,
    },
  };
}

interface Fp16Options {
  blockList: string[];
  exclude: string[];
  fresh: (base: string) => string;
}

/**
 * Converts one graph. Its inputs, outputs and the outer-scope values it reads are float32 at its
 * boundary; a node with bodies (If, Loop, Scan) is such a boundary too: it gets float32 values and its
 * bodies, converted the same way, give float32 back. `outer` holds the element types of outer values.
 */
function convertGraph(g: Graph, outer: Map<string, number | undefined>, o: Fp16Options, t: Fp16Tally): void {
  const { blockList, fresh } = o;
  const types = elementTypes(g, outer);
  const isFloat = (v: string) => !!v && types.get(v) === DataType.FLOAT;
  const skipped = t.skipped;
  const blocked = new Set<Node>();
  for (const n of g.nodes) {
    if (n.subgraphs().length) blocked.add(n);
    else if (blockList.includes(n.opType) || blockList.includes(n.name)) {
      blocked.add(n);
      const excluded = o.exclude.includes(n.opType) || o.exclude.includes(n.name);
      if (n.inputs.some(isFloat))
        skipped.push({
          node: n.name,
          opType: n.opType,
          reason: excluded ? 'excluded by parameter: kept in float32' : 'on the fp16 block list: kept in float32',
        });
    } else if (n.inputs.some((v) => isFloat(v) && g.initializers.has(v) && beyondFp16(g.initializers.get(v)!))) {
      // e.g. a BatchNormalization variance of 1e8: the values, and usually the activations, overflow fp16.
      blocked.add(n);
      skipped.push({ node: n.name, opType: n.opType, reason: 'a weight exceeds the float16 range (±65504): kept in float32' });
    }
  }

  // Where each float value lives: 'fp16' for values computed by converted nodes, 'fp32' otherwise.
  const home = new Map<string, 'fp16' | 'fp32'>();
  for (const i of g.inputs) if (isFloat(i.name) && !g.initializers.has(i.name)) home.set(i.name, 'fp32');
  for (const r of g.outerScopeReads()) if (isFloat(r)) home.set(r, 'fp32');
  const initUsers = new Map<string, { fp16: boolean; fp32: boolean }>();
  const use = (v: string, fp32: boolean) => {
    if (!g.initializers.has(v) || !isFloat(v)) return;
    const u = initUsers.get(v) ?? { fp16: false, fp32: false };
    if (fp32) u.fp32 = true;
    else u.fp16 = true;
    initUsers.set(v, u);
  };
  for (const n of g.nodes) {
    n.inputs.forEach((v, k) => {
      use(v, blocked.has(n) || FLOAT32_ONLY_INPUTS[n.opType]?.includes(k) === true);
    });
    for (const sg of n.subgraphs()) for (const r of sg.outerScopeReads()) use(r, true);
  }
  const fp32Copy = new Map<string, string>();
  for (const [name, u] of initUsers) {
    const w = g.initializers.get(name)!;
    if (u.fp16) {
      const { tensor, clamped } = toFp16(w, name);
      t.clamped += clamped;
      g.initializers.set(name, tensor);
      home.set(name, 'fp16');
      t.converted++;
      if (u.fp32) {
        const copy = fresh(`${name}.fp32`);
        g.initializers.set(copy, w.withName(copy));
        fp32Copy.set(name, copy);
      }
    } else home.set(name, 'fp32');
  }

  const casts = new Map<string, string>();
  const newNodes: Node[] = [];
  const castTo = (v: string, want: 'fp16' | 'fp32'): string => {
    if (want === 'fp32' && fp32Copy.has(v)) return fp32Copy.get(v)!;
    const key = `${v}\u0000${want}`;
    let c = casts.get(key);
    if (!c) {
      c = fresh(`${v}.${want}`);
      casts.set(key, c);
      types.set(c, want === 'fp16' ? DataType.FLOAT16 : DataType.FLOAT);
      newNodes.push(new Node('Cast', [v], [c], fresh(`${v}.cast_${want}`), '', { to: attr.int(want === 'fp16' ? DataType.FLOAT16 : DataType.FLOAT) }));
    }
    return c;
  };

  for (const n of g.nodes) {
    const want: 'fp16' | 'fp32' = blocked.has(n) ? 'fp32' : 'fp16';
    n.inputs = n.inputs.map((v, k) => {
      if (!isFloat(v)) return v;
      const need = FLOAT32_ONLY_INPUTS[n.opType]?.includes(k) ? 'fp32' : want;
      const at = home.get(v);
      return at && at !== need ? castTo(v, need) : v;
    });
    for (const sg of n.subgraphs()) {
      // The body reads outer values as float32: hand it a float32 copy of any that went fp16.
      for (const r of sg.outerScopeReads()) if (isFloat(r) && home.get(r) === 'fp16') sg.replaceUses(r, castTo(r, 'fp32'));
      const seen = new Map(types);
      for (const [k, v] of outer) if (!seen.has(k)) seen.set(k, v);
      convertGraph(sg, seen, o, t);
      t.subgraphs++;
    }
    if (want === 'fp16') {
      // Attributes that fix an output type to float32 follow the conversion.
      if (n.opType === 'Cast' && n.int('to') === DataType.FLOAT) n.set('to', attr.int(DataType.FLOAT16));
      if (n.opType === 'Constant' && n.tensor('value')?.dataType === DataType.FLOAT)
        n.set('value', attr.tensor(toFp16(n.tensor('value')!, n.tensor('value')!.name).tensor));
      if (n.opType === 'Constant' && n.attr('value_float'))
        n.set('value', attr.tensor(Tensor.fromNumbers('value', DataType.FLOAT16, [], [n.float('value_float', 0)])));
      if (n.opType === 'Constant' && n.floats('value_floats')) {
        const f = n.floats('value_floats')!;
        n.set('value', attr.tensor(Tensor.fromNumbers('value', DataType.FLOAT16, [f.length], f)));
      }
      n.attributes.delete('value_float');
      n.attributes.delete('value_floats');
      if (n.opType === 'ConstantOfShape' && (n.tensor('value')?.dataType ?? DataType.FLOAT) === DataType.FLOAT) {
        const v = n.tensor('value');
        n.set('value', attr.tensor(Tensor.fromNumbers('value', DataType.FLOAT16, [1], [v ? v.toFloat32()[0]! : 0])));
      }
      if (n.outputs.some(isFloat)) t.fp16Nodes++;
    } else if (!n.subgraphs().length && n.inputs.some(isFloat)) t.float32Nodes++;
    for (const v of n.outputs) if (isFloat(v)) home.set(v, want);
    newNodes.push(n);
  }
  // Graph outputs computed in fp16: the producer writes `<name>.fp16`, a Cast restores float32 `<name>`.
  for (const out of g.outputs) {
    if (home.get(out.name) !== 'fp16' || g.initializers.has(out.name)) continue;
    const inner = fresh(`${out.name}.fp16`);
    for (const n of newNodes) {
      n.outputs = n.outputs.map((v) => (v === out.name ? inner : v));
      n.inputs = n.inputs.map((v) => (v === out.name ? inner : v));
    }
    newNodes.push(new Node('Cast', [inner], [out.name], fresh(`${out.name}.cast_fp32`), '', { to: attr.int(DataType.FLOAT) }));
  }
  t.casts += casts.size;
  g.nodes = topoOrder(newNodes, g);
  for (const [name, vi] of g.valueInfo)
    if (vi.type?.kind === 'tensor' && home.get(name) === 'fp16' && vi.type.elemType === DataType.FLOAT) vi.type = { ...vi.type, elemType: DataType.FLOAT16 };
  dropUnusedInitializers(g);
}

/** Orders nodes so each runs after the producers of its inputs (casts were appended out of order). */
function topoOrder(nodes: Node[], g: Graph): Node[] {
  const ready = new Set<string>([...g.inputs.map((i) => i.name), ...g.initializers.keys(), '']);
  const producers = new Map<string, Node>();
  for (const n of nodes) for (const o of n.outputs) producers.set(o, n);
  const done = new Set<Node>();
  const out: Node[] = [];
  const visit = (n: Node, depth: number) => {
    if (done.has(n)) return;
    if (depth > nodes.length) throw new Error('fp16: cycle in graph');
    done.add(n);
    for (const i of [...n.inputs, ...n.subgraphs().flatMap((s) => [...s.outerScopeReads()])]) {
      const p = producers.get(i);
      if (p && !ready.has(i)) visit(p, depth + 1);
    }
    out.push(n);
  };
  for (const n of nodes) visit(n, 0);
  return out;
}

export const fp16Pass: Pass<Fp16Params> = {
  name: 'fp16',
  description: 'float16 weights and compute; float32 inputs/outputs and a block list of sensitive ops kept in float32',
  params: {
    blockList: { type: 'string[]', default: DEFAULT_FP16_BLOCK_LIST, description: 'op types or node names kept in float32 (numerically sensitive)' },
    exclude: { type: 'string[]', default: [], description: 'more node names or op types to keep in float32, on top of the block list' },
  },
  tolerance: { metric: 'cosine', value: 0.995 },
  run: (model, params) => convertFp16(model, params),
};
