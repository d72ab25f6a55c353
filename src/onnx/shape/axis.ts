// The one place axes are normalised: every rule that takes an axis, a list of axes, a permutation or a
// rank from a value goes through here, so a hostile value (axes=[2147483648]) fails at once with a typed
// error instead of building a 2³¹-long sparse array.

import { EdgefitError } from '../errors.js';
import type { Dim } from '../graph.js';
import type { Ctx, TensorInfo } from './types.js';

/** Largest rank a rule will build from a value (Reshape's target length, ConstantOfShape's input). */
export const MAX_RANK = 64;

/** A node whose attributes or inputs make no sense for its input shapes (an axis out of range, …). */
export class ShapeRuleError extends EdgefitError {
  /** What is still known of the outputs despite the error (the rank, say); the walk keeps it. */
  partial?: (TensorInfo | undefined)[];
  constructor(
    readonly node: string,
    problem: string,
  ) {
    super(`${node}: ${problem}`, 'E_SHAPE_RULE', 'the model is malformed; re-export it');
    this.name = 'ShapeRuleError';
  }
}

const nodeName = (c: Ctx) => `${c.node.opType} '${c.node.name || c.node.outputs[0] || '?'}'`;

/**
 * `axis` in 0..rank-1 (negative counts from the end). `inclusive` allows rank itself (Flatten's axis).
 * Anything outside, or not an integer, is a ShapeRuleError naming the node and the attribute.
 */
export function normAxis(c: Ctx, axis: number, rank: number, what = 'axis', inclusive = false): number {
  const hi = inclusive ? rank : rank - 1;
  if (!Number.isInteger(axis) || axis < -rank || axis > hi)
    throw new ShapeRuleError(nodeName(c), `${what} ${axis} is out of range for rank ${rank} (allowed ${-rank}..${hi})`);
  return axis < 0 ? axis + rank : axis;
}

/** Every axis of a list normalised (see normAxis); repeated axes are an error. */
export function normAxes(c: Ctx, axes: readonly number[], rank: number, what = 'axes'): number[] {
  const out = axes.map((a) => normAxis(c, a, rank, what));
  if (new Set(out).size !== out.length) throw new ShapeRuleError(nodeName(c), `${what} [${axes.join(', ')}] repeat an axis`);
  return out;
}

/** A permutation of 0..rank-1 (Transpose's perm). */
export function normPerm(c: Ctx, perm: readonly number[], rank: number): number[] {
  if (perm.length !== rank) throw new ShapeRuleError(nodeName(c), `perm [${perm.join(', ')}] has ${perm.length} entries for rank ${rank}`);
  return normAxes(c, perm, rank, 'perm');
}

/** A rank taken from a value (a shape tensor's length): a non-negative integer no larger than MAX_RANK. */
export function checkRank(c: Ctx, n: Dim, what: string): number | undefined {
  if (typeof n !== 'number') return undefined;
  if (!Number.isInteger(n) || n < 0 || n > MAX_RANK) throw new ShapeRuleError(nodeName(c), `${what} has rank ${n}, outside 0..${MAX_RANK}`);
  return n;
}

/** Runs `fn`; should it find the node malformed, the error carries `partial`, what is known regardless. */
export function withPartial<T>(fn: () => T, partial: (TensorInfo | undefined)[]): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ShapeRuleError) e.partial = partial;
    throw e;
  }
}
