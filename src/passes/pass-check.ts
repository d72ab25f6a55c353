// Every registered pass's output is verified before anyone loads it: a pass that breaks a valid model
// is edgefit's fault, and the user must hear that (and what to do now), not "re-export your model"
// from the runtime that later refuses it.

import { EdgefitError } from '../onnx/errors.js';
import type { Model } from '../onnx/model.js';
import { modelProblems } from '../onnx/verify.js';
import type { Pass } from './pass.js';

export class PassOutputError extends EdgefitError {
  constructor(
    readonly pass: string,
    readonly problems: string[],
  ) {
    super(
      `pass ${pass} produced an invalid model from a valid one (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.slice(0, 20).join('\n  - ')}`,
      'E_PASS_OUTPUT',
      `your model is fine: this is an edgefit bug. Leave ${pass} out (or --exclude the node named above) and report it with the model's \`edgefit inspect --json\``,
    );
    this.name = 'PassOutputError';
  }
}

/** The pass, with its output checked: new problems (ones the input did not have) are a PassOutputError. */
export function checked<P extends Pass>(pass: P): P {
  return {
    ...pass,
    async run(model: Model, params, ctx) {
      const r = await pass.run(model, params, ctx);
      const before = new Set(modelProblems(model));
      const fresh = modelProblems(r.model).filter((p) => !before.has(p));
      if (fresh.length) throw new PassOutputError(pass.name, fresh);
      return r;
    },
  };
}
