// Full measurements of a group of candidates with their latency taken in interleaved rounds, the
// baseline alongside, so that load drift on a shared machine hits them alike. Without measureGroup
// (or when one member fails) they are measured one by one.

import type { Measurement } from '../types.js';
import { runCandidate } from './measure-one.js';
import { baseIdOf, checkStop, timeLeft, type SearchContext } from './context.js';

export async function runGroup(ctx: SearchContext, group: string[], done: number, total: number): Promise<void> {
  const { measurer, progress, runDir, objective } = ctx.opts;
  const oneByOne = async () => {
    for (let k = 0; k < group.length; k++) await runCandidate(ctx, group[k]!, 'full', { phase: 'full', done: done + k, total });
  };
  if (!measurer.measureGroup || group.length === 0) return oneByOne();
  checkStop(ctx);
  const baseId = baseIdOf(ctx);
  const base = ctx.results.get(baseId)!;
  const members = [...(base.full ? [baseId] : []), ...group];
  const cfg = (id: string) => ctx.cfgOf.get(id)!;
  progress?.status({
    phase: 'full',
    done,
    total,
    msLeft: timeLeft(ctx),
    current: `measuring ${members.map((id) => cfg(id).label).join(', ')} in interleaved rounds`,
  });
  const started = ctx.now();
  let ms: Measurement[];
  try {
    ms = await measurer.measureGroup(
      members.map((id) => ({ modelPath: runDir.modelPath(id), cfg: cfg(id), ...(id === baseId ? { quality: base.full!.quality } : {}) })),
      'full',
    );
  } catch {
    // One member failed: measure them one by one so the failure lands on the right candidate.
    return oneByOne();
  }
  ctx.measuredNow += members.length;
  const b = members[0] === baseId ? ms[0]!.latency : undefined;
  for (let k = 0; k < members.length; k++) {
    const r = ctx.results.get(members[k]!)!;
    r.full = ms[k]!;
    if (b && members[k] !== baseId) r.full.anchor = { p50: b.p50, p90: b.p90, p95: b.p95, p99: b.p99, max: b.max, mean: b.mean };
    runDir.writeResult(r);
    ctx.cost.full.push((ctx.now() - started) / members.length);
    progress?.log(
      `  measured ${r.config.label}: ${objective} ${r.full.latency[objective].toFixed(2)} ms, ${r.full.quality.primary.name} ${r.full.quality.primary.value.toFixed(4)} (interleaved)`,
    );
  }
}
