// Weight helpers shared by the zoo builders: seeded initializers added to a GraphBuilder.

import type { GraphBuilder } from '../onnx/builder.js';
import { Tensor } from '../onnx/tensor.js';
import { normal, randn, rng } from './rng.js';

export class Init {
  private readonly gauss: () => number;
  constructor(
    private readonly b: GraphBuilder,
    seed: number,
  ) {
    this.gauss = normal(rng(seed));
  }

  /** He/Xavier-style normal weights: std = gain / sqrt(fanIn), so activations keep their scale. */
  weight(name: string, dims: number[], fanIn: number, gain = 1): string {
    const n = dims.reduce((a, d) => a * d, 1);
    return this.b.constant(name, Tensor.fromFloat32(name, dims, randn(n, gain / Math.sqrt(fanIn), this.gauss)));
  }

  /** Small random values (biases, folded BatchNorm shifts). */
  small(name: string, dims: number[], std = 0.05): string {
    const n = dims.reduce((a, d) => a * d, 1);
    return this.b.constant(name, Tensor.fromFloat32(name, dims, randn(n, std, this.gauss)));
  }

  /** Values around `center` (LayerNorm gamma). */
  around(name: string, dims: number[], center: number, std: number): string {
    const n = dims.reduce((a, d) => a * d, 1);
    const v = randn(n, std, this.gauss);
    for (let i = 0; i < n; i++) v[i] = v[i]! + center;
    return this.b.constant(name, Tensor.fromFloat32(name, dims, v));
  }
}
