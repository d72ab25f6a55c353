// Per-image input statistics for monitoring drift on the line: brightness (mean luma, 0–1), contrast
// (RMS of luma, 0–1) and sharpness (variance of the 4-neighbour Laplacian of luma in 0–255 grey levels,
// the usual focus measure: a blurred or dirty lens drives it down).

import type { Pixels } from './image.js';

export interface ImageStats {
  brightness: number;
  contrast: number;
  sharpness: number;
}

/** Statistics of RGBA pixels; a large image is subsampled to about `maxSamples` pixels on a regular grid. */
export function imageStats(p: Pixels, maxSamples = 1 << 18): ImageStats {
  const { width: w, height: h, data } = p;
  if (w === 0 || h === 0) return { brightness: 0, contrast: 0, sharpness: 0 };
  const step = Math.max(1, Math.floor(Math.sqrt((w * h) / maxSamples)));
  const luma = (x: number, y: number) => {
    const i = (y * w + x) * 4;
    return 0.299 * data[i]! + 0.587 * data[i + 1]! + 0.114 * data[i + 2]!;
  };
  let n = 0;
  let sum = 0;
  let sum2 = 0;
  let lap = 0;
  let lap2 = 0;
  let nl = 0;
  for (let y = 0; y < h; y += step)
    for (let x = 0; x < w; x += step) {
      const v = luma(x, y);
      n++;
      sum += v;
      sum2 += v * v;
      if (x >= step && y >= step && x + step < w && y + step < h) {
        const l = luma(x - step, y) + luma(x + step, y) + luma(x, y - step) + luma(x, y + step) - 4 * v;
        nl++;
        lap += l;
        lap2 += l * l;
      }
    }
  const mean = sum / n;
  const variance = Math.max(0, sum2 / n - mean * mean);
  const lapMean = nl ? lap / nl : 0;
  return { brightness: mean / 255, contrast: Math.sqrt(variance) / 255, sharpness: nl ? Math.max(0, lap2 / nl - lapMean * lapMean) : 0 };
}
