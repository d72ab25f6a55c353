// Shared quantization helpers (scale/zero-point math, per-channel quantization, 4-bit packing).
export * from './math.js';
export * from './pack.js';
export * from './graph.js';
export * from './block.js';
export * from './gptq.js';
export * from './hqq.js';
export * from './elem-types.js';
