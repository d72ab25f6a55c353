// Constant nodes ⇄ initializers. Exporters such as Paddle2ONNX keep every weight in a Constant node;
// passes want weights as initializers (one place to look, external data possible). Both directions
// change the model in place and keep the values bit for bit.

import { DataType } from './dtype.js';
import { Node } from './graph.js';
import type { Graph } from './graph.js';
import type { Model } from './model.js';
import { Tensor } from './tensor.js';

const utf8 = new TextEncoder();

/** The tensor a Constant node holds (value, value_float(s), value_int(s), value_string(s)), or undefined (sparse_value). */
export function constantValue(n: Node): Tensor | undefined {
  const name = n.outputs[0] ?? '';
  for (const [key, a] of n.attributes) {
    switch (key) {
      case 'value':
        if (a.type === 'tensor') return a.value.withName(name);
        break;
      case 'value_float':
        if (a.type === 'float' || a.type === 'int') return Tensor.scalar(name, DataType.FLOAT, a.value);
        break;
      case 'value_floats':
        if (a.type === 'floats' || a.type === 'ints') return Tensor.fromNumbers(name, DataType.FLOAT, [a.value.length], a.value);
        break;
      case 'value_int':
        if (a.type === 'int') return Tensor.fromInt64(name, [], [a.value]);
        break;
      case 'value_ints':
        if (a.type === 'ints') return Tensor.fromInt64(name, [a.value.length], a.value);
        break;
      case 'value_string':
        if (a.type === 'string') return new Tensor(name, DataType.STRING, [], new Uint8Array(0), [utf8.encode(a.value)]);
        break;
      case 'value_strings':
        if (a.type === 'strings')
          return new Tensor(
            name,
            DataType.STRING,
            [a.value.length],
            new Uint8Array(0),
            a.value.map((s) => utf8.encode(s)),
          );
        break;
    }
  }
  return undefined;
}

export interface ConstantsResult {
  /** Constant nodes turned into initializers (or initializers turned into Constant nodes). */
  converted: number;
  /** Bytes of tensor data moved. */
  bytes: number;
  /** Constant nodes left alone (sparse values, graph outputs). */
  kept: number;
}

export interface ConstantsOptions {
  /** Also convert inside If/Loop/Scan bodies (default false: subgraphs are left exactly as they are). */
  subgraphs?: boolean;
}

/**
 * Turns every default-domain Constant node of the main graph into an initializer named after its
 * output. Constants that are graph outputs, or hold sparse values, stay nodes. For IR < 4, where every
 * initializer must also be a graph input, the new initializers are added to the inputs.
 */
export function constantsToInitializers(model: Model, opts: ConstantsOptions = {}): ConstantsResult {
  const result: ConstantsResult = { converted: 0, bytes: 0, kept: 0 };
  const visit = (g: Graph, isMain: boolean) => {
    const outputs = new Set(g.outputs.map((o) => o.name));
    const keep: Node[] = [];
    for (const n of g.nodes) {
      if (opts.subgraphs) for (const sg of n.subgraphs()) visit(sg, false);
      const out = n.outputs[0];
      if (n.opType !== 'Constant' || !n.isDefaultDomain || !out) {
        keep.push(n);
        continue;
      }
      const t = constantValue(n);
      if (!t || outputs.has(out) || g.initializers.has(out)) {
        result.kept++;
        keep.push(n);
        continue;
      }
      g.initializers.set(out, t);
      if (model.irVersion < 4 && isMain) g.inputs.push({ name: out, type: { kind: 'tensor', elemType: t.dataType, shape: [...t.dims] } });
      result.converted++;
      result.bytes += t.byteLength;
    }
    g.nodes = keep;
  };
  visit(model.graph, true);
  return result;
}

/**
 * Turns initializers into Constant nodes at the front of the graph (those that are also graph inputs
 * stay initializers: a caller may override them). Useful for tools that expect Paddle-style models.
 */
export function initializersToConstants(model: Model, opts: ConstantsOptions = {}): ConstantsResult {
  const result: ConstantsResult = { converted: 0, bytes: 0, kept: 0 };
  const visit = (g: Graph) => {
    if (opts.subgraphs) for (const n of g.nodes) for (const sg of n.subgraphs()) visit(sg);
    const inputs = new Set(g.inputs.map((i) => i.name));
    const fresh = g.namer();
    const made: Node[] = [];
    for (const [name, t] of [...g.initializers]) {
      if (inputs.has(name)) {
        result.kept++;
        continue;
      }
      made.push(new Node('Constant', [], [name], fresh(`${name}_const`), '', { value: { type: 'tensor', value: t.withName(name) } }));
      g.initializers.delete(name);
      result.converted++;
      result.bytes += t.byteLength;
    }
    g.nodes = [...made, ...g.nodes];
  };
  visit(model.graph);
  return result;
}
