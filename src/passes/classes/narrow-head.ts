// Narrows a class head (head.ts) to the kept classes: the weight keeps their columns and the bias their
// values, so the head computes K scores instead of C; ScatterElements then writes them at their class
// positions in a [..., C] tensor filled with what a dropped class reads: probability 0 after a Softmax
// (exactly what e^-10000 would give), −10000 otherwise, so a dropped class is never the arg max. The
// output keeps its shape and meaning; decoders, evaluators and servers that read it need no change.
// Nothing extreme enters an activation the quantizers calibrate: the fill lives only in the output.

import { DataType } from '../../onnx/dtype.js';
import { Node, attr, type AttributeValue, type Graph } from '../../onnx/graph.js';
import { Tensor } from '../../onnx/tensor.js';
import { NARROW_FILL } from '../../train/training-logits.js';
import { dropUnusedInitializers } from '../quant/graph.js';
import type { ClassHead } from './head.js';

/** The score a dropped class reads when the head has no Softmax: the one the training view fills in too. */
export const FILL = NARROW_FILL;

/** Columns `kept` of a [D, C] weight (rows of a [C, D] one). */
function narrowWeight(w: Tensor, kept: readonly number[], transposed: boolean, name: string): Tensor {
  const src = w.toFloat32();
  const [r, c] = w.dims as [number, number];
  const k = kept.length;
  if (transposed) {
    const out = new Float32Array(k * c);
    for (const [j, cls] of kept.entries()) out.set(src.subarray(cls * c, (cls + 1) * c), j * c);
    return Tensor.fromFloat32(name, [k, c], out);
  }
  const out = new Float32Array(r * k);
  for (let i = 0; i < r; i++) for (let j = 0; j < k; j++) out[i * k + j] = src[i * c + kept[j]!]!;
  return Tensor.fromFloat32(name, [r, k], out);
}

/** The kept classes' bias values, the original's leading 1-dims kept. */
function narrowBias(b: Tensor, kept: readonly number[], name: string): Tensor {
  const src = b.toFloat32();
  return Tensor.fromFloat32(
    name,
    [...b.dims.slice(0, -1), kept.length],
    Float32Array.from(kept, (cls) => src[cls]!),
  );
}

/** Rewrites the head in place to compute the `kept` classes only (sorted, distinct, in range, fewer than all). */
export function narrowHead(g: Graph, head: ClassHead, kept: readonly number[]): void {
  const fresh = g.namer();
  const lin = head.linear;
  const w = narrowWeight(head.weight, kept, head.transposed, fresh(`${head.weight.name}_kept`));
  g.initializers.set(w.name, w);
  lin.inputs[1] = w.name;
  if (head.bias) {
    const b = narrowBias(head.bias, kept, fresh(`${head.bias.name}_kept`));
    g.initializers.set(b.name, b);
    if (lin.opType === 'Gemm') lin.inputs[2] = b.name;
    else head.biasAdd!.inputs = head.biasAdd!.inputs.map((i) => (i === lin.outputs[0] ? i : b.name));
  }
  scatterBack(g, head, kept, fresh);
  dropUnusedInitializers(g);
}

/**
 * The last node of the head writes a narrow tensor [..., K]; ScatterElements writes it into a [..., C]
 * tensor of the fill, giving the graph output its old shape. (A Gather on the last axis would be
 * simpler and costs 1.9 ms on rec's [1, 40, 6625]: one copy per element.)
 */
function scatterBack(g: Graph, head: ClassHead, kept: readonly number[], fresh: (b: string) => string): void {
  const last = g.producers().get(head.output)!;
  const narrow = fresh(`${head.output}_kept`);
  last.outputs = last.outputs.map((o) => (o === head.output ? narrow : o));
  const init = (t: Tensor) => (g.initializers.set(t.name, t), t.name);
  const fill = head.normalise?.opType === 'Softmax' ? 0 : FILL;
  const nodes: Node[] = [];
  const node = (op: string, inputs: string[], base: string, attrs: Record<string, AttributeValue> = {}) => {
    const out = fresh(`${head.output}_${base}`);
    nodes.push(new Node(op, inputs, [out], fresh(`classes_${base}`), '', attrs));
    return out;
  };
  const shape = node('Shape', [narrow], 'shape');
  const lead = node(
    'Slice',
    [shape, init(Tensor.fromInt64(fresh('classes_zero'), [1], [0])), init(Tensor.fromInt64(fresh('classes_minus1'), [1], [-1]))],
    'lead',
  );
  const full = node('Concat', [lead, init(Tensor.fromInt64(fresh('classes_count'), [1], [head.classes]))], 'full_shape', { axis: attr.int(0) });
  const base = node('ConstantOfShape', [full], 'filled', { value: attr.tensor(Tensor.fromFloat32('value', [1], Float32Array.of(fill))) });
  const idx = init(Tensor.fromNumbers(fresh('classes_index'), DataType.INT64, [kept.length], kept));
  const indices = node('Expand', [idx, shape], 'indices');
  nodes.push(new Node('ScatterElements', [base, indices, narrow], [head.output], fresh('classes_scatter'), '', { axis: attr.int(-1) }));
  g.nodes.splice(g.nodes.indexOf(last) + 1, 0, ...nodes);
  // intermediate shapes declared at full width no longer hold
  for (const n of [head.linear, head.biasAdd, head.normalise]) for (const o of n?.outputs ?? []) if (o !== head.output) g.valueInfo.delete(o);
}
