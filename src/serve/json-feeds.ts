// The JSON body of POST /v1/infer: `{"inputs": {"<name>": {"type", "dims", "data"}}}`, checked against the
// model's declared inputs (names, element type, rank, fixed dims, element count) before anything is
// queued, so a bad request costs a 400 and never a worker's time. Outputs go back in the same form.

import { HttpError } from './http-error.js';
import type { ModelIo, WireTensor, WireTensors } from './wire.js';

/** The element types a JSON request may carry, and the typed array each becomes. */
const ARRAYS = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int16: Int16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  bool: Uint8Array,
} as const;
const BIG = { int64: BigInt64Array, uint64: BigUint64Array } as const;
export const JSON_TYPES = [...Object.keys(ARRAYS), ...Object.keys(BIG)];

const bad = (message: string, hint?: string) => new HttpError(400, 'bad_input', message, hint);

function checkDims(name: string, dims: unknown, declared: (number | string | undefined)[] | undefined, maxElements: number): number[] {
  if (!Array.isArray(dims) || !dims.every((d) => Number.isSafeInteger(d) && d >= 0))
    throw bad(`inputs.${name}.dims must be an array of whole numbers ≥ 0`, 'e.g. "dims": [1, 3, 48, 320]');
  if (declared && declared.length && dims.length !== declared.length)
    throw bad(`inputs.${name} has ${dims.length} dims, the model declares ${declared.length}: [${declared.map((d) => d ?? '?').join(', ')}]`);
  declared?.forEach((d, k) => {
    if (typeof d === 'number' && dims[k] !== d)
      throw bad(`inputs.${name} dim ${k} is ${dims[k]}, the model fixes it at ${d}: [${declared.map((x) => x ?? '?').join(', ')}]`);
  });
  const count = dims.reduce((a: number, b: number) => a * b, 1);
  if (count > maxElements)
    throw new HttpError(
      413,
      'too_many_elements',
      `inputs.${name} has ${count} elements, more than the server allows (${maxElements})`,
      'send a smaller tensor, or start the server with a larger --max-elements',
    );
  return dims as number[];
}

function toArray(name: string, type: string, data: unknown, count: number): WireTensor['data'] {
  if (!Array.isArray(data)) throw bad(`inputs.${name}.data must be a flat array of numbers`);
  if (data.length !== count) throw bad(`inputs.${name}.data has ${data.length} values, its dims need ${count}`);
  if (type in BIG) {
    const out = new BIG[type as keyof typeof BIG](count);
    for (let i = 0; i < count; i++) {
      const v = data[i];
      if (!Number.isSafeInteger(v)) throw bad(`inputs.${name}.data[${i}] is not a whole number: ${JSON.stringify(v)}`);
      out[i] = BigInt(v as number);
    }
    return out as ArrayLike<bigint>;
  }
  const out = new ARRAYS[type as keyof typeof ARRAYS](count);
  for (let i = 0; i < count; i++) {
    const v = data[i];
    if (typeof v !== 'number' && typeof v !== 'boolean') throw bad(`inputs.${name}.data[${i}] is not a number: ${JSON.stringify(v)}`);
    out[i] = Number(v);
  }
  return out;
}

/** Parses and checks a JSON request body against the model's inputs. */
export function parseJsonFeeds(body: unknown, io: ModelIo, maxElements: number): WireTensors {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw bad('the body must be a JSON object', 'send {"inputs": {"<name>": {"type": "float32", "dims": [...], "data": [...]}}}');
  const inputs = (body as { inputs?: unknown }).inputs;
  if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs))
    throw bad('the body has no "inputs" object', 'send {"inputs": {"<name>": {"type": "float32", "dims": [...], "data": [...]}}}');
  const names = io.inputs.map((i) => i.name);
  for (const k of Object.keys(inputs))
    if (!names.includes(k)) throw bad(`'${k}' is not an input of the model`, `the inputs are: ${names.join(', ')} (GET /v1/models lists them)`);
  const feeds: WireTensors = {};
  for (const decl of io.inputs) {
    const t = (inputs as Record<string, unknown>)[decl.name];
    if (t === undefined) throw bad(`input '${decl.name}' is missing`, `the inputs are: ${names.join(', ')}`);
    if (typeof t !== 'object' || t === null) throw bad(`inputs.${decl.name} must be an object {type, dims, data}`);
    const { type, dims, data } = t as Record<string, unknown>;
    const ty = type ?? decl.type;
    if (ty !== decl.type) throw bad(`inputs.${decl.name}.type is ${JSON.stringify(type)}, the model wants ${decl.type}`);
    if (!JSON_TYPES.includes(decl.type))
      throw new HttpError(415, 'unsupported_type', `input '${decl.name}' is ${decl.type}, which the JSON API does not carry`);
    const d = checkDims(decl.name, dims, decl.shape, maxElements);
    feeds[decl.name] = {
      type: decl.type,
      dims: d,
      data: toArray(
        decl.name,
        decl.type,
        data,
        d.reduce((a, b) => a * b, 1),
      ),
    };
  }
  return feeds;
}

/** Outputs as JSON: int64 values as numbers (exact below 2^53), NaN and ±Infinity as null. */
export function outputsJson(outputs: WireTensors): Record<string, { type: string; dims: number[]; data: (number | string | null)[] }> {
  const out: Record<string, { type: string; dims: number[]; data: (number | string | null)[] }> = {};
  for (const [name, t] of Object.entries(outputs)) {
    const data = Array.from(t.data as ArrayLike<number | bigint | string>, (v) =>
      typeof v === 'bigint' ? Number(v) : typeof v === 'number' && !Number.isFinite(v) ? null : v,
    );
    out[name] = { type: t.type, dims: t.dims, data };
  }
  return out;
}
