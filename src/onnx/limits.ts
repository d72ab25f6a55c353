// Limits applied while reading a model, so that a hostile or broken file fails with a clear message
// instead of exhausting memory. All are configurable (CLI: --max-dim, --max-tensor-bytes).

export interface ReadLimits {
  /** Largest file (the .onnx itself) read, in bytes. Protobuf cannot exceed 2 GiB. */
  maxFileBytes: number;
  /** Largest dim declared anywhere: in a tensor, an input, an output or value_info. */
  maxDim: number;
  /** Largest single tensor, in bytes (inline or external). */
  maxTensorBytes: number;
  /** Deepest message nesting (subgraphs inside subgraphs). */
  maxDepth: number;
}

export const DEFAULT_LIMITS: ReadLimits = {
  maxFileBytes: 2 ** 31,
  maxDim: 2 ** 31 - 1,
  maxTensorBytes: 16 * 2 ** 30,
  maxDepth: 64,
};

export function withLimits(partial?: Partial<ReadLimits>): ReadLimits {
  return { ...DEFAULT_LIMITS, ...(partial ?? {}) };
}
