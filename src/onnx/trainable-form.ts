// The form training and the structural passes read a model in: every Constant-node weight of the main
// graph an initializer (Paddle2ONNX writes weights as Constant nodes) and the default opset at least 13
// (upgraded to 17 when below), the opset the gradient rules are written for. One function, so that
// everything that must rebuild this form from a user's file (an adapter applied at load) gets the same.

import { constantsToInitializers } from './constants.js';
import type { Model } from './model.js';
import { upgradeOpset } from './opset-upgrade.js';

export const TRAINABLE_OPSET = 17;

/** A copy of the model in the trainable form; the model itself is left as it is. */
export function trainableForm(model: Model): Model {
  const m = model.clone();
  constantsToInitializers(m);
  if ((m.opset('') ?? 0) < 13) upgradeOpset(m, TRAINABLE_OPSET);
  return m;
}
