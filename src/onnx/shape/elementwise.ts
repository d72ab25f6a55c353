// Elementwise ops: broadcasting arithmetic (followed by value for small shape tensors), comparisons and
// logic (bool out), and the unary ops whose output is their input's type and shape.

import { DataType } from '../dtype.js';
import type { Dim } from '../graph.js';
import { type Ctx, type Out, type Rule, type RuleTable, broadcastShapes, isNum, same, withType } from './types.js';

export function elementwise(c: Ctx, elemType?: number): Out {
  const present = c.t.filter((_, k) => c.node.inputs[k]);
  const first = present.find((t) => t !== undefined);
  const ty = elemType ?? first?.elemType;
  if (ty === undefined) return { types: [] };
  const shape = present.length && present.every((t) => t?.shape) ? broadcastShapes(...present.map((t) => t!.shape)) : undefined;
  return { types: [{ elemType: ty, shape }] };
}

const ADD = (a: number, b: number) => a + b;
const MUL = (a: number, b: number) => a * b;

/** x op y where both are known; x + 0 and x * 1 keep a symbolic x. */
function arithDim(op: (a: number, b: number) => number, x: Dim, y: Dim): Dim {
  if (isNum(x) && isNum(y)) return op(x, y);
  if (op === ADD && (x === 0 || y === 0)) return x === 0 ? y : x;
  if (op === MUL && (x === 1 || y === 1)) return x === 1 ? y : x;
  return undefined;
}

function arith(op: (a: number, b: number) => number): Rule {
  return (c) => {
    const out = elementwise(c);
    const a = c.v[0];
    const b = c.v[1];
    if (a && b && (a.length === b.length || a.length === 1 || b.length === 1)) {
      const n = Math.max(a.length, b.length);
      const vals: Dim[] = [];
      for (let k = 0; k < n; k++) vals.push(arithDim(op, a[a.length === 1 ? 0 : k], b[b.length === 1 ? 0 : k]));
      out.values = [vals];
    }
    return out;
  };
}

const boolOut: Rule = (c) => elementwise(c, DataType.BOOL);
const plain: Rule = (c) => elementwise(c);
const boolOfInput: Rule = (c) => [withType(c.t[0], DataType.BOOL)];
const sameAsInput: Rule = (c) => same(c);

export const elementwiseRules: RuleTable = {
  Add: arith(ADD),
  Sub: arith((a, b) => a - b),
  Mul: arith(MUL),
  Div: arith((a, b) => (Number.isInteger(a) && Number.isInteger(b) ? Math.trunc(a / b) : a / b)),
  Pow: (c) => ({ types: [withType(elementwise(c).types[0], c.t[0]?.elemType ?? DataType.FLOAT)] }),
  Max: plain,
  Min: plain,
  Sum: plain,
  Mean: plain,
  Mod: plain,
  PRelu: plain,
  BitShift: plain,
  BitwiseAnd: plain,
  BitwiseOr: plain,
  BitwiseXor: plain,
  Equal: boolOut,
  Less: boolOut,
  Greater: boolOut,
  LessOrEqual: boolOut,
  GreaterOrEqual: boolOut,
  And: boolOut,
  Or: boolOut,
  Xor: boolOut,
  Not: boolOfInput,
  IsNaN: boolOfInput,
  IsInf: boolOfInput,
  Where: (c) => {
    const ty = c.t[1]?.elemType ?? c.t[2]?.elemType;
    if (ty === undefined) return [];
    return [{ elemType: ty, shape: broadcastShapes(c.t[0]?.shape, c.t[1]?.shape, c.t[2]?.shape) }];
  },
  Identity: (c) => ({ types: same(c), values: [c.v[0]] }),
  Dropout: (c) => [...same(c), withType(c.t[0], DataType.BOOL)],
};

/** Ops whose output has their first input's type and shape. */
const UNARY = [
  'Relu',
  'LeakyRelu',
  'Sigmoid',
  'Tanh',
  'HardSigmoid',
  'HardSwish',
  'Elu',
  'Selu',
  'Celu',
  'Gelu',
  'Softplus',
  'Softsign',
  'Mish',
  'ThresholdedRelu',
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
  'Sign',
  'Sin',
  'Cos',
  'Tan',
  'Asin',
  'Acos',
  'Atan',
  'Sinh',
  'Cosh',
  'Asinh',
  'Acosh',
  'Atanh',
  'Softmax',
  'LogSoftmax',
  'Hardmax',
  'Clip',
  'Shrink',
  'LRN',
  'InstanceNormalization',
  'MeanVarianceNormalization',
  'CumSum',
  'Trilu',
  'ReverseSequence',
  'BitwiseNot',
  'GroupNormalization',
  'Bernoulli',
];

export const unaryRules: RuleTable = Object.fromEntries(UNARY.map((op) => [op, sameAsInput]));

/** com.microsoft elementwise and activation ops. */
export const msElementwiseRules: RuleTable = {
  QLinearAdd: (c) => [{ elemType: c.t[0]?.elemType ?? DataType.UINT8, shape: broadcastShapes(c.t[0]?.shape, c.t[3]?.shape) }],
  QLinearMul: (c) => [{ elemType: c.t[0]?.elemType ?? DataType.UINT8, shape: broadcastShapes(c.t[0]?.shape, c.t[3]?.shape) }],
  QLinearSigmoid: sameAsInput,
  QLinearLeakyRelu: sameAsInput,
  Gelu: sameAsInput,
  FastGelu: sameAsInput,
  BiasGelu: sameAsInput,
  QuickGelu: sameAsInput,
};
