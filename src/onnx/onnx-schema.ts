// The messages of onnx.proto, as tables of field numbers (from the ONNX IR spec), for protobuf.ts.

import type { MessageDef } from './protobuf.js';

const msg = (name: string, fields: MessageDef['fields']): MessageDef => ({ name, fields });

export const StringStringEntry: MessageDef = msg('StringStringEntryProto', [
  { no: 1, name: 'key', kind: 'string' },
  { no: 2, name: 'value', kind: 'string' },
]);

export const OperatorSetId: MessageDef = msg('OperatorSetIdProto', [
  { no: 1, name: 'domain', kind: 'string' },
  { no: 2, name: 'version', kind: 'int64' },
]);

export const Tensor: MessageDef = msg('TensorProto', [
  { no: 1, name: 'dims', kind: 'int64', repeated: true },
  { no: 2, name: 'data_type', kind: 'int32' },
  { no: 4, name: 'float_data', kind: 'float', repeated: true },
  { no: 5, name: 'int32_data', kind: 'int32', repeated: true },
  { no: 6, name: 'string_data', kind: 'bytes', repeated: true },
  { no: 7, name: 'int64_data', kind: 'int64', repeated: true },
  { no: 8, name: 'name', kind: 'string' },
  { no: 12, name: 'doc_string', kind: 'string' },
  { no: 9, name: 'raw_data', kind: 'bytes' },
  { no: 13, name: 'external_data', kind: 'message', repeated: true, msg: () => StringStringEntry },
  { no: 14, name: 'data_location', kind: 'int32' },
  { no: 10, name: 'double_data', kind: 'double', repeated: true },
  { no: 11, name: 'uint64_data', kind: 'uint64', repeated: true },
  { no: 16, name: 'metadata_props', kind: 'message', repeated: true, msg: () => StringStringEntry },
]);

export const SparseTensor: MessageDef = msg('SparseTensorProto', [
  { no: 1, name: 'values', kind: 'message', msg: () => Tensor },
  { no: 2, name: 'indices', kind: 'message', msg: () => Tensor },
  { no: 3, name: 'dims', kind: 'int64', repeated: true },
]);

export const Dimension: MessageDef = msg('TensorShapeProto.Dimension', [
  { no: 1, name: 'dim_value', kind: 'int64' },
  { no: 2, name: 'dim_param', kind: 'string' },
  { no: 3, name: 'denotation', kind: 'string' },
]);

export const TensorShape: MessageDef = msg('TensorShapeProto', [{ no: 1, name: 'dim', kind: 'message', repeated: true, msg: () => Dimension }]);

export const TypeTensor: MessageDef = msg('TypeProto.Tensor', [
  { no: 1, name: 'elem_type', kind: 'int32' },
  { no: 2, name: 'shape', kind: 'message', msg: () => TensorShape },
]);

export const TypeSequence: MessageDef = msg('TypeProto.Sequence', [{ no: 1, name: 'elem_type', kind: 'message', msg: () => Type }]);
export const TypeMap: MessageDef = msg('TypeProto.Map', [
  { no: 1, name: 'key_type', kind: 'int32' },
  { no: 2, name: 'value_type', kind: 'message', msg: () => Type },
]);
export const TypeOptional: MessageDef = msg('TypeProto.Optional', [{ no: 1, name: 'elem_type', kind: 'message', msg: () => Type }]);

export const Type: MessageDef = msg('TypeProto', [
  { no: 1, name: 'tensor_type', kind: 'message', msg: () => TypeTensor },
  { no: 4, name: 'sequence_type', kind: 'message', msg: () => TypeSequence },
  { no: 5, name: 'map_type', kind: 'message', msg: () => TypeMap },
  { no: 9, name: 'optional_type', kind: 'message', msg: () => TypeOptional },
  { no: 8, name: 'sparse_tensor_type', kind: 'message', msg: () => TypeTensor },
  { no: 6, name: 'denotation', kind: 'string' },
]);

export const ValueInfo: MessageDef = msg('ValueInfoProto', [
  { no: 1, name: 'name', kind: 'string' },
  { no: 2, name: 'type', kind: 'message', msg: () => Type },
  { no: 3, name: 'doc_string', kind: 'string' },
  { no: 4, name: 'metadata_props', kind: 'message', repeated: true, msg: () => StringStringEntry },
]);

export const Attribute: MessageDef = msg('AttributeProto', [
  { no: 1, name: 'name', kind: 'string' },
  { no: 21, name: 'ref_attr_name', kind: 'string' },
  { no: 13, name: 'doc_string', kind: 'string' },
  { no: 20, name: 'type', kind: 'int32' },
  { no: 2, name: 'f', kind: 'float' },
  { no: 3, name: 'i', kind: 'int64' },
  { no: 4, name: 's', kind: 'bytes' },
  { no: 5, name: 't', kind: 'message', msg: () => Tensor },
  { no: 6, name: 'g', kind: 'message', msg: () => Graph },
  { no: 22, name: 'sparse_tensor', kind: 'message', msg: () => SparseTensor },
  { no: 14, name: 'tp', kind: 'message', msg: () => Type },
  { no: 7, name: 'floats', kind: 'float', repeated: true },
  { no: 8, name: 'ints', kind: 'int64', repeated: true },
  { no: 9, name: 'strings', kind: 'bytes', repeated: true },
  { no: 10, name: 'tensors', kind: 'message', repeated: true, msg: () => Tensor },
  { no: 11, name: 'graphs', kind: 'message', repeated: true, msg: () => Graph },
  { no: 23, name: 'sparse_tensors', kind: 'message', repeated: true, msg: () => SparseTensor },
  { no: 15, name: 'type_protos', kind: 'message', repeated: true, msg: () => Type },
]);

export const Node: MessageDef = msg('NodeProto', [
  { no: 1, name: 'input', kind: 'string', repeated: true },
  { no: 2, name: 'output', kind: 'string', repeated: true },
  { no: 3, name: 'name', kind: 'string' },
  { no: 4, name: 'op_type', kind: 'string' },
  { no: 7, name: 'domain', kind: 'string' },
  { no: 8, name: 'overload', kind: 'string' },
  { no: 5, name: 'attribute', kind: 'message', repeated: true, msg: () => Attribute },
  { no: 6, name: 'doc_string', kind: 'string' },
  { no: 9, name: 'metadata_props', kind: 'message', repeated: true, msg: () => StringStringEntry },
]);

export const TensorAnnotation: MessageDef = msg('TensorAnnotation', [
  { no: 1, name: 'tensor_name', kind: 'string' },
  { no: 2, name: 'quant_parameter_tensor_names', kind: 'message', repeated: true, msg: () => StringStringEntry },
]);

export const Graph: MessageDef = msg('GraphProto', [
  { no: 1, name: 'node', kind: 'message', repeated: true, msg: () => Node },
  { no: 2, name: 'name', kind: 'string' },
  { no: 5, name: 'initializer', kind: 'message', repeated: true, msg: () => Tensor },
  { no: 15, name: 'sparse_initializer', kind: 'message', repeated: true, msg: () => SparseTensor },
  { no: 10, name: 'doc_string', kind: 'string' },
  { no: 11, name: 'input', kind: 'message', repeated: true, msg: () => ValueInfo },
  { no: 12, name: 'output', kind: 'message', repeated: true, msg: () => ValueInfo },
  { no: 13, name: 'value_info', kind: 'message', repeated: true, msg: () => ValueInfo },
  { no: 14, name: 'quantization_annotation', kind: 'message', repeated: true, msg: () => TensorAnnotation },
  { no: 16, name: 'metadata_props', kind: 'message', repeated: true, msg: () => StringStringEntry },
]);

export const FunctionProto: MessageDef = msg('FunctionProto', [
  { no: 1, name: 'name', kind: 'string' },
  { no: 4, name: 'input', kind: 'string', repeated: true },
  { no: 5, name: 'output', kind: 'string', repeated: true },
  { no: 6, name: 'attribute', kind: 'string', repeated: true },
  { no: 11, name: 'attribute_proto', kind: 'message', repeated: true, msg: () => Attribute },
  { no: 7, name: 'node', kind: 'message', repeated: true, msg: () => Node },
  { no: 8, name: 'doc_string', kind: 'string' },
  { no: 9, name: 'opset_import', kind: 'message', repeated: true, msg: () => OperatorSetId },
  { no: 10, name: 'domain', kind: 'string' },
  { no: 13, name: 'overload', kind: 'string' },
  { no: 12, name: 'value_info', kind: 'message', repeated: true, msg: () => ValueInfo },
  { no: 14, name: 'metadata_props', kind: 'message', repeated: true, msg: () => StringStringEntry },
]);

export const Model: MessageDef = msg('ModelProto', [
  { no: 1, name: 'ir_version', kind: 'int64' },
  { no: 8, name: 'opset_import', kind: 'message', repeated: true, msg: () => OperatorSetId },
  { no: 2, name: 'producer_name', kind: 'string' },
  { no: 3, name: 'producer_version', kind: 'string' },
  { no: 4, name: 'domain', kind: 'string' },
  { no: 5, name: 'model_version', kind: 'int64' },
  { no: 6, name: 'doc_string', kind: 'string' },
  { no: 7, name: 'graph', kind: 'message', msg: () => Graph },
  { no: 14, name: 'metadata_props', kind: 'message', repeated: true, msg: () => StringStringEntry },
  { no: 25, name: 'functions', kind: 'message', repeated: true, msg: () => FunctionProto },
]);
