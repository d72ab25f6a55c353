// What a time limit explores. The cost-aware scheduler still refuses any build it predicts will not
// finish in time; the depth only says which kinds of extension are considered at all. The CLI help
// prints DEPTH_HELP, so what it says is what the code does.

export interface Depth {
  name: 'quick' | 'deep';
  /** Rounds of chain extension after screening (each round extends the chains the previous one screened). */
  rounds: number;
  /** Successive halving: a longer recovery for training chains still on or near the front. */
  halving: boolean;
  /** QAT after a static-int8 chain that misses the quality floor. */
  qat: boolean;
}

/** Limits from this long on explore deep chains. */
export const DEEP_FROM_MS = 30 * 60_000;

export function depthFor(timeLimitMs: number): Depth {
  return timeLimitMs >= DEEP_FROM_MS ? { name: 'deep', rounds: 3, halving: true, qat: true } : { name: 'quick', rounds: 1, halving: false, qat: false };
}

export const DEPTH_HELP = `What a time limit explores (the scheduler also skips any build it predicts will not finish in time):
  under ${DEEP_FROM_MS / 60_000}m (e.g. 15m): single passes with their searched parameters, one short prune → recover
    chain per pruning pass (its mildest searched ratio, when a recover stage is registered), then one round of extensions:
    each quantizing pass (at its defaults) unless its own candidates all screened off the front, and the
    two quantizing chains that screened fastest on the source (e.g. clean-fp32 → quantize-static
    int8-chains), appended to the chains on or near the Pareto front after screening.
  ${DEEP_FROM_MS / 60_000}m and over (e.g. 1h): the same with a prune → recover chain per searched ratio, then up to 3 rounds of extensions: longer recoveries
    (successive halving) for training chains still on or near the front and for the best-quality one of
    each round that misses the quality floor, QAT after static-int8 chains that miss the quality floor,
    and quantization of the chains those rounds produced (deeper chains). Training extensions run in order
    of the latency their chain could reach once quantized, and a chain recovered longer is quantized at
    once, before the round's other training, when it would be on or near the front if quantizing moved it
    as it moved the source (as fp32 it may trail the int8 chains).`;
