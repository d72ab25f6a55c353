// The ONNX layer: read/write, the IR, builders.
export * from './dtype.js';
export * from './errors.js';
export * from './graph.js';
export * from './model.js';
export * from './tensor.js';
export * from './builder.js';
export * from './limits.js';
export { readModel, readModelFromBytes, type ReadOptions } from './read-model.js';
export { writeModel, writeFileAtomic, serializeModel, type WriteOptions, type WriteResult, type ExternalDataOptions } from './write-model.js';
