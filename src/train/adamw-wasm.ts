// The AdamW step as a small WebAssembly SIMD kernel (4 floats per instruction), assembled here from its
// opcodes — no toolchain, no binary blob. The parameters, gradients and both moments live in the
// module's memory; the parameter views are what the training loop feeds ORT, so nothing is copied but
// the gradients (one memcpy each). On this machine it takes ~0.4 ms of CPU for 670k parameters against
// ~2.8 ms for the same loop in JavaScript (bench/results/train.json → throughput). Where WebAssembly
// SIMD is missing, createWasmAdamW returns undefined and the JavaScript loop runs.
//
// adamw(p, g, m, v, n, b1, b2, a1, a2, step, e, decay), byte offsets p/g/m/v 16-aligned, n a multiple of 4:
//   m ← b1·m + a1·g;  v ← b2·v + a2·g²;  p ← p·decay − step·m/(√v + e)
// (the constants already hold bias correction, clipping scale and weight decay: see adamwStep).

// The few WebAssembly JS-API members used here (the project's TypeScript libs do not declare them).
interface WasmModule {
  readonly __brand: 'WebAssembly.Module';
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Memory: new (d: { initial: number }) => { buffer: ArrayBuffer };
  Instance: new (m: WasmModule, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
}
const WebAssembly = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

const leb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};
const section = (id: number, body: number[]): number[] => [id, ...leb(body.length), ...body];
const vec = (items: number[][]): number[] => [...leb(items.length), ...items.flat()];
const str = (s: string): number[] => [...leb(s.length), ...[...s].map((c) => c.charCodeAt(0))];

function assemble(): Uint8Array {
  const I32 = 0x7f;
  const F32 = 0x7d;
  const V128 = 0x7b;
  const simd = (op: number) => [0xfd, ...leb(op)];
  const get = (i: number) => [0x20, ...leb(i)];
  const set = (i: number) => [0x21, ...leb(i)];
  const i32 = (v: number) => [0x41, ...leb(v)]; // small non-negative constants only (4, 16)
  // locals: 0..4 p g m v n (i32), 5..11 b1 b2 a1 a2 step e decay (f32), 12 i, 13 end (i32), 14.. v128
  const [I, END, B1, B2, A1, A2, ST, E, DC, G, M, V] = [12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23];
  const addr = (base: number) => [...get(base), ...get(I), 0x6a]; // i32.add
  const load = (base: number) => [...addr(base), ...simd(0x00), 4, 0]; // v128.load align 16
  const store = (base: number, value: number[]) => [...addr(base), ...value, ...simd(0x0b), 4, 0]; // v128.store
  const [splat, sqrt, add, sub, mul, div] = [simd(0x13), simd(0xe3), simd(0xe4), simd(0xe5), simd(0xe6), simd(0xe7)];
  const splats = [5, 6, 7, 8, 9, 10, 11].flatMap((param, k) => [...get(param), ...splat, ...set(B1 + k)]);
  const body = [
    ...vec([
      [2, I32],
      [10, V128],
    ]),
    ...get(4),
    ...i32(4),
    0x6c,
    ...set(END), // end = n·4
    ...splats,
    0x02,
    0x40, // block
    ...get(I),
    ...get(END),
    0x4f,
    0x0d,
    0, // br_if i ≥ end
    0x03,
    0x40, // loop
    ...load(1),
    ...set(G),
    ...get(B1),
    ...load(2),
    ...mul,
    ...get(A1),
    ...get(G),
    ...mul,
    ...add,
    ...set(M),
    ...get(B2),
    ...load(3),
    ...mul,
    ...get(A2),
    ...get(G),
    ...mul,
    ...get(G),
    ...mul,
    ...add,
    ...set(V),
    ...store(2, get(M)),
    ...store(3, get(V)),
    ...store(0, [...load(0), ...get(DC), ...mul, ...get(ST), ...get(M), ...mul, ...get(V), ...sqrt, ...get(E), ...add, ...div, ...sub]),
    ...get(I),
    ...i32(16),
    0x6a,
    ...set(I),
    ...get(I),
    ...get(END),
    0x49,
    0x0d,
    0, // br_if i < end → loop
    0x0b,
    0x0b,
    0x0b,
  ];
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    1,
    0,
    0,
    0,
    ...section(1, vec([[0x60, ...vec([I32, I32, I32, I32, I32, F32, F32, F32, F32, F32, F32, F32].map((t) => [t])), 0]])),
    ...section(2, vec([[...str('env'), ...str('mem'), 0x02, 0x00, 0x01]])),
    ...section(3, vec([[0]])),
    ...section(7, vec([[...str('adamw'), 0x00, 0]])),
    ...section(10, vec([[...leb(body.length), ...body]])),
  ]);
}

export interface WasmAdamW {
  /** Parameter views in the module's memory (feed these to ORT; they stay valid: the memory never grows). */
  params: Float32Array[];
  m: Float32Array[];
  v: Float32Array[];
  /** One step for parameter k, with its gradient copied in first. */
  step(k: number, grad: Float32Array, b1: number, b2: number, a1: number, a2: number, step: number, e: number, decay: number): void;
}

let compiled: WasmModule | null | undefined;

/** Kernels over copies of `initial` in fresh wasm memory; undefined where WebAssembly SIMD is unavailable. */
export function createWasmAdamW(initial: Float32Array[]): WasmAdamW | undefined {
  if (compiled === undefined) {
    const bytes = assemble();
    compiled = WebAssembly?.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  }
  if (!compiled || !WebAssembly) return undefined;
  const padded = initial.map((p) => Math.ceil(p.length / 4) * 4);
  const total = padded.reduce((a, b) => a + b, 0) * 4 * 4; // p, g, m, v
  const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(total / 65536)) });
  const adamw = new WebAssembly.Instance(compiled, { env: { mem: memory } }).exports.adamw as (...args: number[]) => void;
  const params: Float32Array[] = [];
  const grads: Float32Array[] = [];
  const m: Float32Array[] = [];
  const v: Float32Array[] = [];
  const offsets: number[] = [];
  let at = 0;
  initial.forEach((p, k) => {
    const n = p.length;
    const bytes = padded[k]! * 4;
    offsets.push(at);
    params.push(new Float32Array(memory.buffer, at, n));
    grads.push(new Float32Array(memory.buffer, at + bytes, n));
    m.push(new Float32Array(memory.buffer, at + 2 * bytes, n));
    v.push(new Float32Array(memory.buffer, at + 3 * bytes, n));
    params[k]!.set(p);
    at += 4 * bytes;
  });
  return {
    params,
    m,
    v,
    step(k, grad, b1, b2, a1, a2, step, e, decay) {
      const n = params[k]!.length;
      const simdN = n - (n % 4);
      grads[k]!.set(grad);
      const base = offsets[k]!;
      const bytes = padded[k]! * 4;
      adamw(base, base + bytes, base + 2 * bytes, base + 3 * bytes, simdN, b1, b2, a1, a2, step, e, decay);
      // the last n mod 4 elements in JavaScript
      const p = params[k]!;
      const g = grads[k]!;
      const mk = m[k]!;
      const vk = v[k]!;
      for (let i = simdN; i < n; i++) {
        const gi = g[i]!;
        const mi = b1 * mk[i]! + a1 * gi;
        const vi = b2 * vk[i]! + a2 * gi * gi;
        mk[i] = mi;
        vk[i] = vi;
        p[i] = p[i]! * decay - (step * mi) / (Math.sqrt(vi) + e);
      }
    },
  };
}
