// A HardSwish whose readers quantize-static left in float, because a narrow scope keeps elementwise and
// pooling ops float: PP-LCNet's squeeze-excite stage (HardSwish → scale → bias, read by a
// GlobalAveragePool and by the Mul with the excite gate) and its last stage (… read by an AveragePool).
// The whole stage then runs in float between a DQ and a Q, with layout transposes around it. When every
// reader is one that ORT runs on uint8 codes once its inputs and output are quantized, and its output
// already goes to a uint8 Q, this puts a Q/DQ pair on the HardSwish's value and on each gate:
//   - the value's range is known without calibration: HardSwish of the input DQ's representable range,
//     through the scalar Mul and Add (then hardswish-uint8.ts rewrites the chain into QLinearAdd + Mul);
//   - a gate is HardSigmoid or Sigmoid, whose output lies in [0, 1]: scale 1/255, zero point 0.
// ORT then fuses GlobalAveragePool, AveragePool and the gated Mul into QLinear kernels.

import { DataType } from '../../onnx/dtype.js';
import { type Graph, Node } from '../../onnx/graph.js';
import { Tensor } from '../../onnx/tensor.js';
import { scalarAfter, soleReader } from '../clean/weights.js';
import { uint8QParams } from './graph.js';

const hardSwish = (x: number) => (x * Math.min(6, Math.max(0, x + 3))) / 6;

/** The range of HardSwish over [lo, hi]: its minimum −3/8 is at −1.5. */
export function hardSwishRange(lo: number, hi: number): [number, number] {
  const at = [lo, hi, Math.min(hi, Math.max(lo, -1.5))].map(hardSwish);
  return [Math.min(...at), Math.max(...at)];
}

/** uint8 scale and zero point for a range, widened to hold 0 as ORT's quantizers do. */
export function uint8Params(lo: number, hi: number): { scale: number; zp: number } {
  const [a, b] = [Math.min(lo, 0), Math.max(hi, 0)];
  const scale = Math.fround((b - a) / 255 || 1);
  return { scale, zp: Math.min(255, Math.max(0, Math.round(-a / scale))) };
}

/** A per-tensor uint8 DQ or Q (standard domain, as `op`)'s scale and zero point, or undefined. */
const perTensorU8 = (g: Graph, n: Node | undefined, op: string) => (n?.opType === op && n.isDefaultDomain ? uint8QParams(g, n) : undefined);

interface Chain {
  /** The value at the chain's end: the HardSwish's output, or that of its scalar Mul / Add. */
  end: string;
  range: [number, number];
}

/** DQ(uint8) → HardSwish → [Mul by a positive scalar] → [Add a scalar]: the end value and its range. */
function chainFrom(g: Graph, hs: Node): Chain | undefined {
  const dq = perTensorU8(g, g.producers().get(hs.inputs[0]!), 'DequantizeLinear');
  if (!dq) return undefined;
  let [lo, hi] = hardSwishRange(dq.scale * (0 - dq.zp), dq.scale * (255 - dq.zp));
  let end = hs.outputs[0]!;
  for (const op of ['Mul', 'Add']) {
    const n = soleReader(g, end);
    const c = n && scalarAfter(g, n, op, end);
    if (c === undefined) continue;
    if (op === 'Mul' && !(c > 0)) return undefined;
    [lo, hi] = op === 'Mul' ? [lo * c, hi * c] : [lo + c, hi + c];
    end = n!.outputs[0]!;
  }
  return { end, range: [lo, hi] };
}

/** The gate input of a Mul reader, when the gate is a HardSigmoid or Sigmoid output; else undefined. */
function gateOf(g: Graph, mul: Node, value: string): string | undefined {
  if (mul.inputs.length !== 2) return undefined;
  const other = mul.inputs[0] === value ? mul.inputs[1]! : mul.inputs[0]!;
  if (other === value) return undefined;
  const p = g.producers().get(other);
  return p?.isDefaultDomain && (p.opType === 'HardSigmoid' || p.opType === 'Sigmoid') ? other : undefined;
}

/** Whether every reader of `value` becomes a uint8 kernel once its inputs are quantized. */
function readersGoInt8(g: Graph, value: string): boolean {
  if (g.outputs.some((o) => o.name === value)) return false;
  const rs = g.consumers().get(value) ?? [];
  return (
    rs.length > 0 &&
    rs.every((r) => {
      if (!perTensorU8(g, soleReader(g, r.outputs[0]), 'QuantizeLinear')) return false;
      if (r.opType === 'GlobalAveragePool' || r.opType === 'AveragePool') return r.inputs[0] === value;
      return r.opType === 'Mul' && gateOf(g, r, value) !== undefined;
    })
  );
}

/**
 * Puts a Q/DQ pair on every HardSwish chain whose readers all go int8 that way (see the file comment),
 * and on their gates. Returns how many chains it quantized, and the readers that now go int8.
 */
export function quantizeHardSwishReaders(g: Graph, fresh: (base: string) => string): { chains: number; readers: Node[] } {
  let count = 0;
  const opened: Node[] = [];
  const pair = (value: string, scale: number, zp: number, base: string): string => {
    const [s, z, q, dq] = [fresh(`${base}_scale`), fresh(`${base}_zero_point`), fresh(`${base}_quantized`), fresh(`${base}_dequantized`)];
    g.initializers.set(s, Tensor.scalar(s, DataType.FLOAT, scale));
    g.initializers.set(z, Tensor.scalar(z, DataType.UINT8, zp));
    const at = g.nodes.indexOf(g.producers().get(value)!) + 1;
    g.nodes.splice(
      at,
      0,
      new Node('QuantizeLinear', [value, s, z], [q], fresh(`${base}_QuantizeLinear`)),
      new Node('DequantizeLinear', [q, s, z], [dq], fresh(`${base}_DequantizeLinear`)),
    );
    return dq;
  };
  for (const hs of g.nodes.filter((n) => n.opType === 'HardSwish' && n.isDefaultDomain)) {
    const chain = chainFrom(g, hs);
    if (!chain || !readersGoInt8(g, chain.end)) continue;
    const readers = g.consumers().get(chain.end)!;
    const p = uint8Params(...chain.range);
    const dq = pair(chain.end, p.scale, p.zp, chain.end);
    for (const r of readers) {
      const gate = r.opType === 'Mul' ? gateOf(g, r, chain.end) : undefined;
      const gdq = gate ? pair(gate, Math.fround(1 / 255), 0, gate) : undefined;
      r.inputs = r.inputs.map((i) => (i === chain.end ? dq : i === gate ? gdq! : i));
      opened.push(r);
    }
    count++;
  }
  return { chains: count, readers: opened };
}
