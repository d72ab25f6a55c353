// A BERT-style encoder built in code: per layer, Q/K/V/output projections (MatMul + Add), softmax
// attention, residual + LayerNormalization, and a GELU (Erf form) feed-forward; then a pooler
// (first token, Tanh) and a classification head. Input is the embedded sequence, so any caller can
// feed random or real embeddings without a tokenizer.

import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/dtype.js';
import type { Model } from '../onnx/model.js';
import { Init } from './weights.js';

export interface BertOptions {
  layers: number;
  hidden: number;
  heads: number;
  /** Sequence length declared on the input (the graph itself accepts any length). */
  seq: number;
  /** Feed-forward width (default 4 × hidden). */
  intermediate?: number;
  /** Classes of the head (default 2). */
  classes?: number;
  seed?: number;
  /**
   * Token vocabulary size: the input becomes `input_ids` (int64 [batch, length ≤ seq]) read through word
   * and position embedding tables and a LayerNorm, as BERT exports do (the position rows are sliced to the
   * input's length through Shape → Gather, the exporter habit). Without it the input is the embedded `x`.
   */
  vocab?: number;
}

/** input_ids → word embedding + position embedding (sliced to the length) → LayerNorm; (B, S, H). */
function embeddings(b: GraphBuilder, w: Init, vocab: number, seq: number, hidden: number, ln: (x: string, name: string) => string): string {
  const ids = b.input('input_ids', DataType.INT64, ['batch', 'length']);
  const words = b.op('Gather', [w.weight('embeddings.word', [vocab, hidden], hidden), ids], { axis: 0 }, { name: 'embeddings.word' });
  const length = b.op(
    'Gather',
    [b.op('Shape', [ids], {}, { name: 'embeddings.shape' }), b.int64s('embeddings.length_axis', [1])],
    { axis: 0 },
    { name: 'embeddings.length' },
  );
  const positions = b.op(
    'Slice',
    [w.weight('embeddings.position', [seq, hidden], hidden), b.int64s('embeddings.start', [0]), length, b.int64s('embeddings.axes', [0])],
    {},
    { name: 'embeddings.position' },
  );
  return ln(b.op('Add', [words, positions], {}, { name: 'embeddings.add' }), 'embeddings.ln');
}

export function bertEncoder(opts: BertOptions): Model {
  const { layers, hidden, heads, seq } = opts;
  if (hidden % heads !== 0) throw new Error(`bertEncoder: hidden ${hidden} is not a multiple of heads ${heads}`);
  const inter = opts.intermediate ?? 4 * hidden;
  const classes = opts.classes ?? 2;
  const dHead = hidden / heads;
  const b = new GraphBuilder('bert_encoder');
  const w = new Init(b, opts.seed ?? 7);

  const linear = (x: string, name: string, fin: number, fout: number): string => {
    const y = b.op('MatMul', [x, w.weight(`${name}.weight`, [fin, fout], fin)], {}, { name });
    return b.op('Add', [y, w.small(`${name}.bias`, [fout], 0.02)], {}, { name: `${name}.add` });
  };
  const layerNorm = (x: string, name: string): string =>
    b.op(
      'LayerNormalization',
      [x, w.around(`${name}.gamma`, [hidden], 1, 0.05), w.small(`${name}.beta`, [hidden], 0.02)],
      { axis: -1, epsilon: 1e-12 },
      { name },
    );

  const splitShape = b.int64s('split_heads_shape', [0, 0, heads, dHead]);
  const mergeShape = b.int64s('merge_heads_shape', [0, 0, hidden]);
  const scale = b.scalar('attn_scale', 1 / Math.sqrt(dHead));
  const half = b.scalar('half', 0.5);
  const one = b.scalar('one', 1);
  const sqrt2 = b.scalar('sqrt2', Math.SQRT2);

  // x (B, S, H)
  let x = opts.vocab ? embeddings(b, w, opts.vocab, seq, hidden, layerNorm) : b.input('x', DataType.FLOAT, ['batch', seq, hidden]);
  for (let l = 0; l < layers; l++) {
    const p = `layer${l}`;
    // (B, S, H) -> (B, heads, S, dHead); K transposed to (B, heads, dHead, S)
    const heads4 = (t: string, perm: number[], n: string) =>
      b.op('Transpose', [b.op('Reshape', [t, splitShape], {}, { name: `${n}.reshape` })], { perm }, { name: `${n}.transpose` });
    const q = heads4(linear(x, `${p}.attn.q`, hidden, hidden), [0, 2, 1, 3], `${p}.attn.q`);
    const k = heads4(linear(x, `${p}.attn.k`, hidden, hidden), [0, 2, 3, 1], `${p}.attn.k`);
    const v = heads4(linear(x, `${p}.attn.v`, hidden, hidden), [0, 2, 1, 3], `${p}.attn.v`);
    const scores = b.op('Mul', [b.op('MatMul', [q, k], {}, { name: `${p}.attn.qk` }), scale], {}, { name: `${p}.attn.scale` });
    const probs = b.op('Softmax', [scores], { axis: -1 }, { name: `${p}.attn.softmax` });
    const ctx = b.op('MatMul', [probs, v], {}, { name: `${p}.attn.pv` }); // (B, heads, S, dHead)
    const merged = b.op(
      'Reshape',
      [b.op('Transpose', [ctx], { perm: [0, 2, 1, 3] }, { name: `${p}.attn.merge.transpose` }), mergeShape],
      {},
      { name: `${p}.attn.merge.reshape` },
    );
    const attnOut = linear(merged, `${p}.attn.out`, hidden, hidden);
    x = layerNorm(b.op('Add', [attnOut, x], {}, { name: `${p}.attn.residual` }), `${p}.attn.ln`);
    // FFN: GELU(x W1 + b1) W2 + b2, GELU as 0.5 x (1 + erf(x / sqrt 2)) — the Div form PyTorch exports, which ORT fuses
    const h = linear(x, `${p}.ffn.up`, hidden, inter);
    const erf = b.op('Erf', [b.op('Div', [h, sqrt2], {}, { name: `${p}.ffn.gelu.div` })], {}, { name: `${p}.ffn.gelu.erf` });
    const gelu = b.op(
      'Mul',
      [b.op('Mul', [h, b.op('Add', [erf, one], {}, { name: `${p}.ffn.gelu.add` })], {}, { name: `${p}.ffn.gelu.mul` }), half],
      {},
      { name: `${p}.ffn.gelu.half` },
    );
    const down = linear(gelu, `${p}.ffn.down`, inter, hidden);
    x = layerNorm(b.op('Add', [down, x], {}, { name: `${p}.ffn.residual` }), `${p}.ffn.ln`);
  }
  // Pooler on the first token, then the classifier: (B, S, H) -> (B, H) -> (B, classes)
  const first = b.op('Gather', [x, b.int64s('first_token', [0], [])], { axis: 1 }, { name: 'pooler.first_token' });
  const pooled = b.op('Tanh', [linear(first, 'pooler.dense', hidden, hidden)], {}, { name: 'pooler.tanh' });
  const logits = b.op(
    'Gemm',
    [pooled, w.weight('classifier.weight', [hidden, classes], hidden), w.small('classifier.bias', [classes])],
    {},
    { name: 'classifier', outputs: ['logits'] },
  );
  b.output(logits, DataType.FLOAT, ['batch', classes]);
  return b.model({ opset: 17 });
}
