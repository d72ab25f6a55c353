// The student of a distillation, from a one-line spec:
//   mlp:784-64-10 | cnn:…          a small architecture built from scratch (train/models.ts)
//   path/to/model.onnx             any given model
//   drop:every-other | drop:1,3    the teacher with residual blocks removed (each an Add of a block's input
//                                  and the branch computed from it), initialised from the blocks kept
// Width reduction goes through the structured-pruning pass, which the CLI looks up (train does not
// import passes).

import { existsSync } from 'node:fs';
import { UsageError } from '../onnx/errors.js';
import { removeDeadNodes } from '../onnx/graph-utils.js';
import type { Graph, Node } from '../onnx/graph.js';
import type { Model } from '../onnx/model.js';
import { readModel } from '../onnx/read-model.js';
import { buildArch } from './models.js';

/** A residual unit: `add` sums `skip` (the block's input) and a branch computed from it. */
export interface ResidualBlock {
  add: Node;
  skip: string;
  branch: string;
}

/** Residual Adds in graph order: one input is an ancestor of the other. */
export function residualBlocks(g: Graph): ResidualBlock[] {
  const producers = g.producers();
  const ancestors = (v: string): Set<string> => {
    const seen = new Set<string>();
    const stack = [v];
    while (stack.length) {
      const p = producers.get(stack.pop()!);
      if (!p) continue;
      for (const i of p.inputs) if (i && !seen.has(i)) seen.add(i), stack.push(i);
    }
    return seen;
  };
  const out: ResidualBlock[] = [];
  for (const n of g.nodes) {
    if (n.opType !== 'Add' || n.inputs.length !== 2 || g.initializers.has(n.inputs[0]!) || g.initializers.has(n.inputs[1]!)) continue;
    const [a, b] = [n.inputs[0]!, n.inputs[1]!];
    if (!producers.has(a) && !producers.has(b)) continue;
    if (ancestors(b).has(a)) out.push({ add: n, skip: a, branch: b });
    else if (ancestors(a).has(b)) out.push({ add: n, skip: b, branch: a });
  }
  return out;
}

/** The teacher with the listed residual blocks (indices into residualBlocks) replaced by their skip path. */
export function dropBlocks(teacher: Model, which: number[]): Model {
  const m = teacher.clone();
  const g = m.graph;
  const blocks = residualBlocks(g);
  if (blocks.length === 0) throw new UsageError('the teacher has no residual blocks to drop', 'give the student as an architecture (mlp:…) or an ONNX model');
  const bad = which.filter((k) => !(Number.isInteger(k) && k >= 0 && k < blocks.length));
  if (bad.length) throw new UsageError(`no residual block ${bad.join(', ')}: the teacher has ${blocks.length} (0–${blocks.length - 1})`);
  const drop = new Set(which);
  if (drop.size >= blocks.length)
    throw new UsageError(
      `--student drops all ${blocks.length} residual blocks of the teacher: nothing of its depth would remain`,
      'drop fewer, e.g. drop:every-other',
    );
  const rename = new Map<string, string>();
  for (const k of drop) {
    const blk = blocks[k]!;
    rename.set(blk.add.outputs[0]!, blk.skip);
  }
  const resolve = (v: string): string => (rename.has(v) ? resolve(rename.get(v)!) : v);
  g.nodes = g.nodes.filter((n) => !rename.has(n.outputs[0] ?? ''));
  for (const n of g.nodes) n.inputs = n.inputs.map((i) => (i ? resolve(i) : i));
  for (const o of g.outputs)
    if (rename.has(o.name)) {
      // keep the output's name: an Identity from the skip path
      throw new UsageError(`residual block ${[...drop].join(', ')} ends at the model output; keep the last block`);
    }
  g.valueInfo.clear();
  removeDeadNodes(g, { initializers: true });
  m.setMeta('edgefit.student', `teacher without residual blocks ${[...drop].sort((a, b) => a - b).join(',')} of ${blocks.length}`);
  return m;
}

export function buildStudent(spec: string, teacher: Model, seed = 0): Model {
  if (spec.startsWith('mlp:') || spec.startsWith('cnn:')) return buildArch(spec, seed);
  if (spec.startsWith('drop:')) {
    const arg = spec.slice(5);
    const count = residualBlocks(teacher.graph).length;
    const which =
      arg === 'every-other'
        ? Array.from({ length: Math.floor(count / 2) }, (_, k) => 2 * k + 1)
        : arg === 'all'
          ? Array.from({ length: count }, (_, k) => k)
          : arg.split(',').map(Number);
    if (which.length === 0) throw new UsageError(`--student ${spec} drops nothing: the teacher has ${count} residual block(s)`);
    return dropBlocks(teacher, which);
  }
  if (spec.endsWith('.onnx')) {
    if (!existsSync(spec)) throw new UsageError(`no student model at ${spec}`);
    return readModel(spec);
  }
  throw new UsageError(
    `unknown --student '${spec}'`,
    'use an architecture (mlp:784-64-10, cnn:…), a model file (student.onnx), drop:every-other | drop:1,3 (residual blocks of the teacher), or width:0.5',
  );
}
