// Pass: fold the habits of torch.onnx, tf2onnx and Paddle2ONNX exports (Identity-shared weights,
// Constant chains, constant subgraphs, Cast chains, shape chains, NHWC Transposes) so that the passes
// after it find weights as initializers and Convs next to each other. A prep pass: values unchanged.

import { foldExporterHabits } from '../onnx/fold-exporter-habits.js';
import type { Pass } from './pass.js';

export const foldExporterHabitsPass: Pass = {
  name: 'fold-exporter-habits',
  description: 'fold Identity/Constant/Cast chains, constant and shape subgraphs and cancelling Transposes left by exporters (values unchanged)',
  prep: true,
  params: {},
  tolerance: { metric: 'relL2', value: 1e-5 },
  async run(model, params) {
    const out = model.clone();
    const before = out.graph.nodes.length;
    const r = foldExporterHabits(out);
    const done = Object.entries(r.counts).filter(([, v]) => v > 0);
    return {
      model: out,
      record: {
        pass: 'fold-exporter-habits',
        params,
        stats: { nodesBefore: before, nodesAfter: out.graph.nodes.length, rounds: r.rounds, ...r.counts },
        skipped: [],
        notes: done.length
          ? [`folded: ${done.map(([k, v]) => `${k} ${v}`).join(', ')}`]
          : ['nothing to fold: the model has none of the exporter habits this pass knows'],
      },
    };
  },
};
