// The lineage of an optimize run as a tree: the source model at the root, each candidate under the
// candidate its chain grew from. A node's edge says which stage(s) it added, the latency that bought and
// the quality that cost relative to its parent, with intervals, and how long the stage took to build.
// Parent: `parentId` when set (and known); else the candidate whose chain is this one's minus its last
// step(s), the longest such prefix there is; else the source model.

import { lowerIsBetter } from '../search/constraints.js';
import type { CandidateResult, Measurement, Summary } from '../search/types.js';
import { chainKey, sameSession, sessionText, stepsText, type Step } from './chain-text.js';

export type StageTime = NonNullable<CandidateResult['stageTimes']>[number];

/** One end of an edge as measured: the objective statistic and the primary metric, with their intervals. */
export interface EndFigures {
  stage: 'screen' | 'full';
  ms: number;
  msCi?: [number, number];
  quality: number;
  qualityCi: [number, number];
}

export interface LineageEdge {
  /** The steps this node adds to its parent's chain (usually one). */
  steps: Step[];
  /** The steps in short, or the session change when no step was added. */
  text: string;
  latency?: {
    stat: Summary['objective'];
    parent: EndFigures;
    child: EndFigures;
    /** Child minus parent (ms): negative is faster. */
    deltaMs: number;
    /** Parent over child: above 1 is faster. */
    speedup: number;
  };
  quality?: {
    metric: string;
    parent: { value: number; ci: [number, number] };
    child: { value: number; ci: [number, number] };
    /** Child minus parent, in the metric's own units. */
    delta: number;
    /** The added steps made the metric worse (for CER: higher; for accuracy: lower). */
    worse: boolean;
  };
  /** The build of each added step, from `stageTimes` (undefined where the run did not record it). */
  build: (StageTime | undefined)[];
  /** Time spent building the added steps in this run (cached steps count nothing). */
  buildMs: number;
}

export interface LineageNode {
  id: string;
  label: string;
  chain: string;
  /** How the parent was found. */
  via: 'root' | 'parentId' | 'prefix' | 'baseline';
  verdict: string;
  why?: string;
  /** Failed, dropped, or identical to another model: shown greyed. */
  greyed: boolean;
  /** The node's own measurement (objective statistic and primary metric), when it has one. */
  figures?: EndFigures & { stat: Summary['objective']; metric: string };
  edge?: LineageEdge;
  children: LineageNode[];
}

/** A build time for the lineage: seconds below a minute, else minutes, one decimal. */
export const durationText = (ms: number): string => (ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(1)} s`);

const best = (r: CandidateResult | undefined): Measurement | undefined => (r && r.status === 'ok' ? (r.full ?? r.screen) : undefined);

/**
 * The two ends of an edge measured alike: both full, else both screened, else each one's latest. A full
 * measurement (longer, interleaved, more items) beside a screening would read as a change the stage made.
 */
function alike(parent: CandidateResult | undefined, child: CandidateResult): [Measurement, Measurement] | undefined {
  if (!parent || parent.status !== 'ok' || child.status !== 'ok') return undefined;
  if (parent.full && child.full) return [parent.full, child.full];
  if (parent.screen && child.screen) return [parent.screen, child.screen];
  const [p, c] = [best(parent), best(child)];
  return p && c ? [p, c] : undefined;
}

/** The parent of every candidate but the baseline, and how it was found. */
export function parentsOf(s: Summary): Map<string, { parent: string; via: LineageNode['via'] }> {
  const byId = new Map(s.candidates.map((c) => [c.id, c]));
  const byChain = new Map<string, CandidateResult[]>();
  for (const c of s.candidates) {
    const k = chainKey(c.config.passes);
    byChain.set(k, [...(byChain.get(k) ?? []), c]);
  }
  const out = new Map<string, { parent: string; via: LineageNode['via'] }>();
  for (const c of s.candidates) {
    if (c.id === s.baseline) continue;
    if (c.parentId && c.parentId !== c.id && byId.has(c.parentId)) out.set(c.id, { parent: c.parentId, via: 'parentId' });
    else out.set(c.id, prefixParent(c, byChain) ?? { parent: s.baseline, via: 'baseline' });
  }
  // parentId may loop (a hand-edited summary): the first node of a loop to be walked hangs from the baseline
  for (const c of s.candidates) {
    const seen = new Set([c.id]);
    for (let p = out.get(c.id)?.parent; p !== undefined && p !== s.baseline; p = out.get(p)?.parent) {
      if (p === c.id) out.set(c.id, { parent: s.baseline, via: 'baseline' });
      if (seen.has(p)) break;
      seen.add(p);
    }
  }
  return out;
}

/** The candidate whose chain is the longest proper prefix of this one's; a twin with the same session settings first. */
function prefixParent(c: CandidateResult, byChain: Map<string, CandidateResult[]>): { parent: string; via: 'prefix' } | undefined {
  for (let k = c.config.passes.length - 1; k >= 1; k--) {
    const same = (byChain.get(chainKey(c.config.passes.slice(0, k))) ?? []).filter((p) => p.id !== c.id);
    const pick =
      same.find((p) => sameSession(p.config.session, c.config.session) && !p.identicalTo && p.status === 'ok') ??
      same.find((p) => !p.identicalTo && p.status === 'ok') ??
      same[0];
    if (pick) return { parent: pick.id, via: 'prefix' };
  }
  return undefined;
}

/** Each step's build record: matched by name in order, else by position when the counts agree. */
export function alignStageTimes(steps: readonly Step[], times: readonly StageTime[] | undefined): (StageTime | undefined)[] {
  if (!times?.length) return steps.map(() => undefined);
  let j = 0;
  const byName = steps.map((st) => {
    const k = times.findIndex((t, i) => i >= j && t.stage === st.name);
    if (k < 0) return undefined;
    j = k + 1;
    return times[k];
  });
  if (byName.every((t) => t === undefined) && times.length === steps.length) return [...times];
  return byName;
}

function ends(m: Measurement, stat: Summary['objective']): EndFigures {
  const ci = m.latency.ci[stat];
  return { stage: m.stage, ms: m.latency[stat], ...(ci ? { msCi: ci } : {}), quality: m.quality.primary.value, qualityCi: m.quality.primary.ci };
}

function commonPrefix(a: readonly Step[], b: readonly Step[]): number {
  let k = 0;
  while (k < a.length && k < b.length && chainKey([a[k]!]) === chainKey([b[k]!])) k++;
  return k;
}

/** The edge from `parent` to `child`: added steps, latency and quality deltas, build times. */
export function edgeOf(parent: CandidateResult | undefined, child: CandidateResult, stat: Summary['objective']): LineageEdge {
  const from = parent?.config.passes ?? [];
  const k = commonPrefix(from, child.config.passes);
  const steps = child.config.passes.slice(k);
  const build = alignStageTimes(child.config.passes, child.stageTimes).slice(k);
  const session = sessionText(child.config.session);
  const text = steps.length ? stepsText(steps) : session || '(no change)';
  const edge: LineageEdge = { steps, text, build, buildMs: build.reduce((t, b) => t + (b && !b.cached ? b.wallMs : 0), 0) };
  const pair = alike(parent, child);
  if (!pair) return edge;
  const [pm, cm] = pair;
  const [p, c] = [ends(pm, stat), ends(cm, stat)];
  edge.latency = { stat, parent: p, child: c, deltaMs: c.ms - p.ms, speedup: p.ms / c.ms };
  const metric = cm.quality.primary.name;
  const delta = c.quality - p.quality;
  edge.quality = {
    metric,
    parent: { value: p.quality, ci: p.qualityCi },
    child: { value: c.quality, ci: c.qualityCi },
    delta,
    worse: lowerIsBetter(metric) ? delta > 0 : delta < 0,
  };
  return edge;
}

function nodeOf(c: CandidateResult | undefined, id: string, s: Summary): Omit<LineageNode, 'via' | 'children' | 'edge'> {
  const m = best(c);
  const figures = m ? { figures: { ...ends(m, s.objective), stat: s.objective, metric: m.quality.primary.name } } : {};
  if (!c) return { id, label: 'source model', chain: '(source as is)', verdict: 'baseline', greyed: false };
  const v = c.verdict;
  const kind = c.identicalTo ? 'no-change' : c.status === 'failed' ? 'failed' : (v?.kind ?? (c.id === s.baseline ? 'baseline' : 'dropped'));
  const why = v && 'why' in v ? v.why : c.status === 'failed' ? c.error : c.identicalTo ? `identical to ${c.identicalTo}` : undefined;
  return {
    id: c.id,
    label: c.config.label,
    chain: stepsText(c.config.passes),
    verdict: c.id === s.baseline && kind !== 'chosen' ? 'baseline' : kind,
    ...(why ? { why } : {}),
    greyed: kind === 'failed' || kind === 'dropped' || kind === 'no-change',
    ...figures,
  };
}

/** The lineage tree of a run: the baseline at the root, children in the order the run lists them. */
export function lineageTree(s: Summary): LineageNode {
  const byId = new Map(s.candidates.map((c) => [c.id, c]));
  const parents = parentsOf(s);
  const nodes = new Map<string, LineageNode>();
  const root: LineageNode = { ...nodeOf(byId.get(s.baseline), s.baseline, s), via: 'root', children: [] };
  nodes.set(s.baseline, root);
  for (const c of s.candidates) {
    if (c.id === s.baseline) continue;
    const p = parents.get(c.id)!;
    nodes.set(c.id, { ...nodeOf(c, c.id, s), via: p.via, edge: edgeOf(byId.get(p.parent), c, s.objective), children: [] });
  }
  for (const c of s.candidates) {
    if (c.id === s.baseline) continue;
    nodes.get(parents.get(c.id)!.parent)!.children.push(nodes.get(c.id)!);
  }
  return root;
}

/** The run has chains worth a tree: a candidate with more than one step, a training stage, or a recorded parent. */
export function hasChains(s: Summary): boolean {
  return s.candidates.some((c) => c.config.passes.length > 1 || c.parentId !== undefined || c.stageTimes !== undefined);
}
