// Warm-up: the first runs of a session pay for arena growth, kernel selection and cold caches. Run a
// few untimed before anything that is measured or served.

import type * as ort from 'onnxruntime-node';

/** Runs the session `runs` times on `feeds`; returns each run's latency in ms (the first is the cold one). */
export async function warmUp(session: Pick<ort.InferenceSession, 'run'>, feeds: Record<string, ort.Tensor>, runs = 5): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t0);
  }
  return times;
}
