// Checks that a model is well formed, and reports every problem at once: each input produced before it
// is read, no value produced twice, an opset import for every domain in use, element types that agree
// where they are known. Passes run it after every change, so a pass that breaks a graph is caught.

import { DataType, dtypeName } from './dtype.js';
import { EdgefitError } from './errors.js';
import type { Graph, Node } from './graph.js';
import type { Model } from './model.js';

export class VerifyError extends EdgefitError {
  constructor(
    readonly problems: string[],
    context?: string,
  ) {
    const shown = problems.slice(0, 100);
    const more = problems.length > shown.length ? `\n  … and ${problems.length - shown.length} more` : '';
    super(
      `${context ? `${context}: ` : ''}the model is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${shown.join('\n  - ')}${more}`,
      'E_INVALID_MODEL',
      'the model is broken; if a pass produced it, report the pass, otherwise re-export the model',
    );
    this.name = 'VerifyError';
  }
}

export interface VerifyOptions {
  /** Prefix for the error message, e.g. "after pass quantize-dynamic". */
  context?: string;
}

/** Throws a VerifyError that lists every problem found; returns quietly when there are none. */
export function verifyModel(model: Model, opts: VerifyOptions = {}): void {
  const problems = modelProblems(model);
  if (problems.length) throw new VerifyError(problems, opts.context);
}

/** Every problem found, as sentences; empty when the model is well formed. */
export function modelProblems(model: Model): string[] {
  const problems: string[] = [];
  const domains = new Set<string>();
  const seenImports = new Set<string>();
  for (const o of model.opsetImports) {
    const d = normDomain(o.domain);
    if (seenImports.has(d)) problems.push(`opset of domain '${d || 'ai.onnx'}' is imported twice`);
    seenImports.add(d);
  }
  checkGraph(model.graph, new Set(), problems, domains, 'graph');
  for (const d of domains) {
    if (!seenImports.has(d)) problems.push(`nodes use domain '${d || 'ai.onnx'}' but the model imports no opset for it`);
  }
  return problems;
}

function normDomain(d: string): string {
  return d === 'ai.onnx' ? '' : d;
}

function label(n: Node): string {
  return `${n.opType} '${n.name || n.outputs[0] || '?'}'`;
}

/**
 * Element type of each value where it is known: declarations, initializers, and what a few ops fix
 * (Constant, Cast, Shape, comparisons); propagated through ops whose output has their input's type.
 */
function knownTypes(g: Graph, outer: Map<string, number>): Map<string, number> {
  const t = new Map<string, number>(outer);
  for (const v of [...g.inputs, ...g.outputs, ...g.valueInfo.values()]) if (v.type?.kind === 'tensor' && v.type.elemType) t.set(v.name, v.type.elemType);
  for (const [name, init] of g.initializers) t.set(name, init.dataType);
  for (const n of g.nodes) {
    const out = n.outputs[0];
    if (!out || !n.isDefaultDomain) continue;
    const given = outputTypeOf(n, t);
    if (given !== undefined && !t.has(out)) t.set(out, given);
  }
  return t;
}

const SAME_AS_INPUT0 = new Set([
  'Relu',
  'LeakyRelu',
  'Sigmoid',
  'Tanh',
  'HardSigmoid',
  'HardSwish',
  'Elu',
  'Selu',
  'Gelu',
  'Softplus',
  'Softsign',
  'Mish',
  'Erf',
  'Exp',
  'Log',
  'Sqrt',
  'Abs',
  'Neg',
  'Reciprocal',
  'Floor',
  'Ceil',
  'Round',
  'Sin',
  'Cos',
  'Identity',
  'Dropout',
  'Clip',
  'Softmax',
  'LogSoftmax',
  'Transpose',
  'Reshape',
  'Flatten',
  'Squeeze',
  'Unsqueeze',
  'Expand',
  'Tile',
  'Slice',
  'Gather',
  'GatherElements',
  'Pad',
  'Resize',
  'Upsample',
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Pow',
  'Max',
  'Min',
  'Sum',
  'Mean',
  'MatMul',
  'Gemm',
  'Conv',
  'ConvTranspose',
  'BatchNormalization',
  'InstanceNormalization',
  'LayerNormalization',
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'GlobalMaxPool',
  'ReduceMean',
  'ReduceSum',
  'ReduceMax',
  'ReduceMin',
  'ReduceProd',
  'Concat',
  'Split',
  'PRelu',
  'DepthToSpace',
  'SpaceToDepth',
]);
const BOOL_OUT = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf']);

function outputTypeOf(n: Node, t: Map<string, number>): number | undefined {
  switch (n.opType) {
    case 'Constant': {
      const v = n.tensor('value');
      if (v) return v.dataType;
      if (n.attr('value_float') || n.attr('value_floats')) return DataType.FLOAT;
      if (n.attr('value_int') || n.attr('value_ints')) return DataType.INT64;
      if (n.attr('value_string') || n.attr('value_strings')) return DataType.STRING;
      return undefined;
    }
    case 'Cast':
      return n.int('to');
    case 'Shape':
    case 'Size':
    case 'NonZero':
    case 'ArgMax':
    case 'ArgMin':
      return DataType.INT64;
    case 'DequantizeLinear':
      return n.inputs[1] ? t.get(n.inputs[1]) : undefined;
    case 'QuantizeLinear':
      return n.inputs[2] ? t.get(n.inputs[2]) : DataType.UINT8;
    case 'Where':
      return n.inputs[1] ? t.get(n.inputs[1]) : undefined;
    default:
      if (BOOL_OUT.has(n.opType)) return DataType.BOOL;
      if (SAME_AS_INPUT0.has(n.opType)) return n.inputs[0] ? t.get(n.inputs[0]) : undefined;
      return undefined;
  }
}

/** Inputs (by position) of default-domain ops that must share one element type. */
function sameTypeGroups(n: Node): number[][] {
  switch (n.opType) {
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div':
    case 'Equal':
    case 'Less':
    case 'Greater':
    case 'LessOrEqual':
    case 'GreaterOrEqual':
    case 'And':
    case 'Or':
    case 'Xor':
    case 'Mod':
    case 'BitShift':
    case 'PRelu':
    case 'MatMul':
      return [[0, 1]];
    case 'Max':
    case 'Min':
    case 'Sum':
    case 'Mean':
    case 'Concat':
      return [n.inputs.map((_, k) => k)];
    case 'Where':
      return [[1, 2]];
    case 'Gemm':
      return [[0, 1, 2]];
    case 'Conv':
    case 'ConvTranspose':
      return [[0, 1, 2]];
    case 'BatchNormalization':
      return [[1, 2]];
    case 'LayerNormalization':
      return [[0, 1, 2]];
    case 'DequantizeLinear':
    case 'QuantizeLinear':
      return n.opType === 'DequantizeLinear' ? [[0, 2]] : [];
    default:
      return [];
  }
}

function checkGraph(g: Graph, outerScope: Set<string>, problems: string[], domains: Set<string>, where: string, outerTypes = new Map<string, number>()): void {
  const inGraph = where === 'graph' ? '' : ` in ${where}`;
  const defined = new Set<string>();
  const produced = new Map<string, string>();
  const define = (name: string, by: string) => {
    if (!name) return;
    const prev = produced.get(name);
    if (prev !== undefined) problems.push(`value '${name}' is produced twice${inGraph}: by ${prev} and by ${by}`);
    else produced.set(name, by);
    defined.add(name);
  };
  for (const i of g.inputs) define(i.name, 'a graph input');
  for (const name of g.initializers.keys()) if (!defined.has(name)) define(name, 'an initializer');
  for (const [name, init] of g.initializers) {
    const decl = g.inputs.find((i) => i.name === name) ?? g.valueInfo.get(name);
    if (decl?.type?.kind === 'tensor' && decl.type.elemType && decl.type.elemType !== init.dataType)
      problems.push(`initializer '${name}'${inGraph} holds ${dtypeName(init.dataType)} but is declared ${dtypeName(decl.type.elemType)}`);
  }
  const types = knownTypes(g, outerTypes);
  for (const n of g.nodes) {
    if (!n.opType) problems.push(`a node${inGraph} has no op_type (outputs ${n.outputs.join(', ')})`);
    domains.add(normDomain(n.domain));
    n.inputs.forEach((i, k) => {
      if (i && !defined.has(i) && !outerScope.has(i))
        problems.push(`${label(n)}${inGraph} reads '${i}' (input ${k}), which no earlier node, graph input or initializer produces`);
    });
    if (n.isDefaultDomain) {
      for (const group of sameTypeGroups(n)) {
        const seen: [string, number][] = [];
        for (const k of group) {
          const name = n.inputs[k];
          const ty = name ? types.get(name) : undefined;
          if (name && ty !== undefined) seen.push([name, ty]);
        }
        const first = seen[0];
        if (first && seen.some(([, ty]) => ty !== first[1]))
          problems.push(`${label(n)}${inGraph} mixes element types: ${seen.map(([nm, ty]) => `'${nm}' is ${dtypeName(ty)}`).join(', ')}`);
      }
    }
    const subs = n.subgraphs();
    if (subs.length) {
      const scope = new Set<string>([...outerScope, ...defined]);
      for (const [k, a] of n.attributes) {
        const gs = a.type === 'graph' ? [a.value] : a.type === 'graphs' ? a.value : [];
        gs.forEach((sg, j) => void checkGraph(sg, scope, problems, domains, `${where}/${label(n)}.${k}${gs.length > 1 ? `[${j}]` : ''}`, types));
      }
    }
    for (const o of n.outputs) define(o, label(n));
  }
  for (const o of g.outputs) if (!defined.has(o.name) && !outerScope.has(o.name)) problems.push(`graph output '${o.name}'${inGraph} is never produced`);
  for (const o of g.outputs) {
    const declared = o.type?.kind === 'tensor' ? o.type.elemType : undefined;
    const producer = g.nodes.find((n) => n.outputs[0] === o.name);
    const actual = producer?.isDefaultDomain ? outputTypeOf(producer, types) : g.initializers.get(o.name)?.dataType;
    if (declared && actual !== undefined && declared !== actual)
      problems.push(
        `graph output '${o.name}'${inGraph} is declared ${dtypeName(declared)} but ${producer ? label(producer) : 'its initializer'} makes ${dtypeName(actual)}`,
      );
  }
}
