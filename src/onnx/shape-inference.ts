// Shape and element-type inference with symbolic dims: the entry point. The rules live in src/onnx/shape/,
// one file per op family, each rule a row in a table (shape/table.ts gathers them); the walk is
// shape/infer.ts. Small integer tensors (shapes, axes, pads) are followed by value too, so that
// Shape → Gather → Concat → Reshape chains keep their symbolic dims. Inference never throws on a strange
// model unless asked (InferOptions.strict): a malformed node is noted and its outputs left unknown.

export { inferShapes, shapeRuleOps, type InferOptions, type ShapeInference } from './shape/infer.js';
export { broadcastShapes, type TensorInfo } from './shape/types.js';
export { ShapeRuleError, MAX_RANK } from './shape/axis.js';
