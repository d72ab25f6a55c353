// A whole ONNX model: the main graph plus the model-level fields (IR version, opset imports,
// producer, metadata, functions).

import { Graph } from './graph.js';
import type { ProtoObject } from './protobuf.js';

export interface OpsetImport {
  domain: string;
  version: number;
}

export class Model {
  irVersion = 8;
  opsetImports: OpsetImport[] = [{ domain: '', version: 17 }];
  producerName = 'edgefit';
  producerVersion = '';
  domain = '';
  modelVersion = 0;
  docString = '';
  metadata: [string, string][] = [];
  /** Model-local functions, kept as decoded protobuf. */
  functions: ProtoObject[] = [];

  constructor(public graph: Graph = new Graph()) {}

  /** The opset version imported for a domain ('' and 'ai.onnx' are the same). */
  opset(domain = ''): number | undefined {
    const d = domain === 'ai.onnx' ? '' : domain;
    return this.opsetImports.find((o) => (o.domain === 'ai.onnx' ? '' : o.domain) === d)?.version;
  }

  setOpset(domain: string, version: number): void {
    const d = domain === 'ai.onnx' ? '' : domain;
    const hit = this.opsetImports.find((o) => (o.domain === 'ai.onnx' ? '' : o.domain) === d);
    if (hit) hit.version = version;
    else this.opsetImports.push({ domain: d, version });
  }

  meta(key: string): string | undefined {
    return this.metadata.find(([k]) => k === key)?.[1];
  }

  setMeta(key: string, value: string): void {
    const hit = this.metadata.find(([k]) => k === key);
    if (hit) hit[1] = value;
    else this.metadata.push([key, value]);
  }

  /** Copy that shares tensor bytes; change the copy freely, but replace tensors rather than editing them. */
  clone(): Model {
    const m = new Model(this.graph.clone());
    m.irVersion = this.irVersion;
    m.opsetImports = this.opsetImports.map((o) => ({ ...o }));
    m.producerName = this.producerName;
    m.producerVersion = this.producerVersion;
    m.domain = this.domain;
    m.modelVersion = this.modelVersion;
    m.docString = this.docString;
    m.metadata = this.metadata.map(([k, v]) => [k, v]);
    m.functions = [...this.functions];
    return m;
  }
}
