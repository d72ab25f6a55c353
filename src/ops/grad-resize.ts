// Resize in nearest mode by whole-number factors, where each input element is copied to a block of
// s₀×s₁×… outputs: its gradient is the sum of dy over that block, a Reshape that splits each scaled axis
// into (size, factor) and a ReduceSum over the factors. That holds for the mappings that give blocks:
// 'asymmetric' with nearest_mode 'floor', and the half-pixel modes with either rounding (for a whole
// factor s, (o + 0.5)/s − 0.5 never lands on a half). Linear and cubic modes, fractional factors and
// align_corners are refused with a clear message.

import { UsageError } from '../onnx/errors.js';
import type { GradRule } from './grad-context.js';

const BLOCK_MODES: Record<string, readonly string[]> = {
  asymmetric: ['floor'],
  half_pixel: ['round_prefer_floor', 'round_prefer_ceil'],
  pytorch_half_pixel: ['round_prefer_floor', 'round_prefer_ceil'],
};

/** The whole-number factor of each axis (output size / input size), or why the gradient is not a block sum. */
export function blockFactors(mode: string, transform: string, nearest: string, xs: number[], ys: number[]): number[] | string {
  if (mode !== 'nearest') return `mode '${mode}' (only nearest has a gradient rule)`;
  if (!BLOCK_MODES[transform]?.includes(nearest)) return `coordinate_transformation_mode '${transform}' with nearest_mode '${nearest}'`;
  if (xs.length !== ys.length) return 'input and output ranks differ';
  const f = ys.map((y, i) => y / xs[i]!);
  if (f.some((v) => !Number.isInteger(v) || v < 1)) return `output ${ys.join('×')} is not a whole multiple of input ${xs.join('×')}`;
  return f;
}

const resize: GradRule = (c) => {
  const x = c.x[0]!;
  const xs = c.shape(x);
  const factors = blockFactors(
    c.node.string('mode', 'nearest'),
    c.node.string('coordinate_transformation_mode', 'half_pixel'),
    c.node.string('nearest_mode', 'round_prefer_floor'),
    xs,
    c.shape(c.y[0]!),
  );
  if (typeof factors === 'string') throw new UsageError(`Resize '${c.node.name}': no gradient rule for ${factors}`);
  if (!c.needs[0]) return [undefined];
  // (x₀, f₀, x₁, f₁, …) without the unit factors; 0 copies a leading axis (the batch) as it is
  const first = factors.findIndex((v) => v > 1);
  if (first < 0) return [c.gy[0]!];
  const shape: number[] = [];
  const axes: number[] = [];
  factors.forEach((f, i) => {
    shape.push(i < first ? 0 : xs[i]!);
    if (f > 1) {
      axes.push(shape.length);
      shape.push(f);
    }
  });
  const split = c.op('Reshape', [c.gy[0]!, c.int64s(shape)]);
  return [c.reduce('ReduceSum', split, axes, false)];
};

export const resizeRules: Record<string, GradRule> = { Resize: resize };
