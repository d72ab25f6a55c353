// Pass: upgrade the default-domain opset (7–12 → 13–21), so that quantizers and ORT's newer kernels
// apply. Outputs stay the same up to float rounding in the rewritten Softmax/Resize paths.

import { upgradeOpset as upgrade } from '../onnx/opset-upgrade.js';
import type { Pass } from './pass.js';

export const upgradeOpset: Pass = {
  name: 'upgrade-opset',
  description: 'upgrade the ai.onnx opset (attribute→input moves, Softmax semantics, Upsample→Resize)',
  prep: true,
  params: {
    target: { type: 'integer', default: 17, min: 13, max: 21, description: 'opset to upgrade to (13–21); a model already at or above it is left alone' },
  },
  tolerance: { metric: 'maxAbs', value: 1e-5 },
  async run(model, params) {
    const out = model.clone();
    const target = params.target as number;
    const from = out.opset('') ?? 0;
    const notes: string[] = [];
    let adapted: Record<string, number> = {};
    if (from >= target) notes.push(`model is at opset ${from}; nothing to do`);
    else adapted = upgrade(out, target).adapted;
    return {
      model: out,
      record: {
        pass: 'upgrade-opset',
        params,
        stats: { from, to: out.opset('') ?? from, ...adapted },
        skipped: [],
        notes,
      },
    };
  },
};
