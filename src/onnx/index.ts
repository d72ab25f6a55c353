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
export { verifyModel, modelProblems, VerifyError, type VerifyOptions } from './verify.js';
export { topoSort, removeDeadNodes, nodeReads, extractSubgraph, type DeadCodeResult } from './graph-utils.js';
export { constantsToInitializers, initializersToConstants, constantValue, type ConstantsResult, type ConstantsOptions } from './constants.js';
export { inferShapes, broadcastShapes, shapeRuleOps, type TensorInfo, type InferOptions, type ShapeInference } from './shape-inference.js';
export { upgradeOpset, UPGRADE_RANGE, type UpgradeResult } from './opset-upgrade.js';
export { foldExporterHabits, type FoldResult } from './fold-exporter-habits.js';
export { FOLD_RULES, type FoldRule } from './fold-rules.js';
