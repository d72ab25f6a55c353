// Element types of every value in a graph, from declared types and a small table of op rules — enough
// for passes that only need to know which values are float (fp16) without full shape inference.

import { DataType } from '../../onnx/dtype.js';
import type { Graph, Node } from '../../onnx/graph.js';

const BOOL_OPS = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf']);
const INT64_OPS = new Set(['Shape', 'Size', 'NonZero', 'ArgMax', 'ArgMin', 'NonMaxSuppression']);

/** Output element types of a node given its input types (undefined where unknown). */
function outputTypes(node: Node, input: (k: number) => number | undefined): (number | undefined)[] {
  const all = (t: number | undefined) => node.outputs.map(() => t);
  const dtypeAttr = (fallback: number) => node.int('dtype') ?? fallback;
  switch (node.opType) {
    case 'Cast':
      return all(node.int('to'));
    case 'CastLike':
      return all(input(1));
    case 'Constant': {
      const t = node.tensor('value');
      if (t) return [t.dataType];
      if (node.attr('value_float') || node.attr('value_floats')) return [DataType.FLOAT];
      if (node.attr('value_int') || node.attr('value_ints')) return [DataType.INT64];
      return [undefined];
    }
    case 'ConstantOfShape':
      return [node.tensor('value')?.dataType ?? DataType.FLOAT];
    case 'EyeLike':
      return [node.int('dtype') ?? input(0)];
    case 'RandomNormal':
    case 'RandomUniform':
      return [dtypeAttr(DataType.FLOAT)];
    case 'RandomNormalLike':
    case 'RandomUniformLike':
      return [node.int('dtype') ?? input(0)];
    case 'TopK':
    case 'MaxPool':
      return [input(0), DataType.INT64];
    case 'Unique':
      return node.outputs.map((_, k) => (k === 0 ? input(0) : DataType.INT64));
    case 'DynamicQuantizeLinear':
      return [DataType.UINT8, DataType.FLOAT, DataType.UINT8];
    case 'QuantizeLinear':
      return [input(2) ?? node.int('output_dtype') ?? DataType.UINT8];
    case 'DequantizeLinear':
      return [DataType.FLOAT];
    case 'MatMulInteger':
    case 'ConvInteger':
      return [DataType.INT32];
    case 'Where':
      return [input(1)];
    case 'LayerNormalization':
      return node.outputs.map((_, k) => (k === 0 ? input(0) : DataType.FLOAT));
  }
  if (BOOL_OPS.has(node.opType)) return all(DataType.BOOL);
  if (INT64_OPS.has(node.opType)) return all(DataType.INT64);
  let first: number | undefined;
  for (let k = 0; k < node.inputs.length && first === undefined; k++) if (node.inputs[k]) first = input(k);
  return all(first);
}

/** Output types of a node with bodies: from the body's declared outputs, else from the body itself. */
function bodyOutputTypes(node: Node, types: Map<string, number | undefined>): (number | undefined)[] | undefined {
  const a = node.attr(node.opType === 'If' ? 'then_branch' : 'body');
  if (a?.type !== 'graph' || !node.isDefaultDomain) return undefined;
  const body = a.value;
  const inner = body.outputs.some((o) => o.type?.kind !== 'tensor') ? elementTypes(body, types) : undefined;
  const outs = body.outputs.map((o) => (o.type?.kind === 'tensor' ? o.type.elemType : inner?.get(o.name)));
  // Loop's body outputs start with the condition; Scan's and If's do not.
  return node.opType === 'Loop' ? outs.slice(1) : outs;
}

/**
 * Element type of every value name reachable in a graph (declared types win). `outer` gives the types
 * of values of the graphs around it, for a body that reads them.
 */
export function elementTypes(graph: Graph, outer?: Map<string, number | undefined>): Map<string, number | undefined> {
  const types = new Map<string, number | undefined>(outer ?? []);
  for (const i of graph.inputs) if (i.type?.kind === 'tensor') types.set(i.name, i.type.elemType);
  for (const [name, t] of graph.initializers) types.set(name, t.dataType);
  for (const node of graph.nodes) {
    const outs = bodyOutputTypes(node, types) ?? outputTypes(node, (k) => types.get(node.inputs[k] ?? ''));
    node.outputs.forEach((o, k) => {
      if (!o) return;
      const declared = graph.valueInfo.get(o)?.type;
      types.set(o, declared?.kind === 'tensor' ? declared.elemType : outs[k]);
    });
  }
  return types;
}
