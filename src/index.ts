// edgefit's public API. Re-exports only: each layer's index says what it offers.
//   import { readModel, createSession, benchIsolated, loadTask, evaluate, PASSES } from 'edgefit';

export * from './onnx/index.js';
export { verifyModel, VerifyError } from './onnx/verify.js';
export { topoSort, removeDeadNodes } from './onnx/graph-utils.js';
export { constantsToInitializers, initializersToConstants } from './onnx/constants.js';
export { inferShapes } from './onnx/shape-inference.js';
export { upgradeOpset } from './onnx/opset-upgrade.js';
export * from './runtime/index.js';
export * from './bench/index.js';
export * from './data/index.js';
export * from './eval/index.js';
export * from './train/index.js';
export * as zoo from './zoo/index.js';
export { PASSES, findPass } from './passes/registry.js';
export { validateParams } from './passes/params.js';
export { PassOutputError } from './passes/pass-check.js';
export type { Pass, PassContext, PassRecord, ParamSpec, ParamValues, Tolerance, Feeds } from './passes/pass.js';
export { main } from './cli/main.js';
