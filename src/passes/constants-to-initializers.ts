// Pass: turn Constant-node weights (Paddle2ONNX style) into initializers, so later passes find every
// weight in one place. Values are moved bit for bit.

import { constantsToInitializers as convert } from '../onnx/constants.js';
import type { Pass } from './pass.js';

export const constantsToInitializers: Pass = {
  name: 'constants-to-initializers',
  description: 'turn Constant nodes into initializers (values unchanged)',
  prep: true,
  params: {
    subgraphs: { type: 'boolean', default: false, description: 'also convert Constants inside If/Loop/Scan bodies' },
  },
  tolerance: { metric: 'maxAbs', value: 0 },
  async run(model, params) {
    const out = model.clone();
    const r = convert(out, { subgraphs: params.subgraphs === true });
    return {
      model: out,
      record: {
        pass: 'constants-to-initializers',
        params,
        stats: { converted: r.converted, bytes: r.bytes, kept: r.kept },
        skipped: [],
        notes: r.kept ? [`${r.kept} Constant node(s) kept: graph outputs or sparse values`] : [],
      },
    };
  },
};
