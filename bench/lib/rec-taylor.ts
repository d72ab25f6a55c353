// Taylor-importance structured pruning of PaddleOCR rec's six wide backbone groups, shared by the
// pruning bench (prune-rec.ts) and the rec student of the compress bench (rec-student.ts).

import { pruneStructured } from '../../src/passes/prune-structured.js';
import type { Model } from '../../src/onnx/model.js';
import { ocrTrainSamples } from '../../src/cli/ocr-task.js';
import { modelNormalisation } from '../../src/train/task-data.js';
import { weightGradients } from '../../src/train/taylor-gradients.js';

/** The convs whose output-channel groups are the widest of rec's backbone (512 and 256 channels, and their followers). */
export const REC_WIDE_GROUPS = ['12', '14', '16', '18', '28', '30'].map((k) => `p2o.Conv.${k}`);

/** A fraction `ratio` of each wide group removed, ranked by |Σ w·∂L/∂w| (CTC) on 64 task items, kept counts a multiple of `multiple`. */
export async function taylorPruneRec(m: Model, ratio: number, multiple: number): Promise<Model> {
  const norm = modelNormalisation(m);
  const g = await ocrTrainSamples('serials', m, { seed: 2, limit: 64, preprocess: norm?.preprocess });
  const gradients = await weightGradients(m, { x: g.x, sampleShape: g.sampleShape }, { samples: 64 });
  const layerRatios = REC_WIDE_GROUPS.map((n) => `${n}=${ratio}`);
  const p = await pruneStructured(m, { ratio: 0, multiple, method: 'taylor', layerRatios }, { gradients });
  console.log(
    p.groups
      .filter((x) => x.kept < x.channels)
      .map((x) => `${x.sources[0]} ${x.channels}→${x.kept}`)
      .join(', '),
  );
  return p.model;
}
