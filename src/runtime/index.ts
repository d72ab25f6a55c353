// The runtime layer: ORT sessions, synthetic inputs, tensor conversions.
export {
  createSession,
  openSession,
  ortVersion,
  toOrtOptions,
  validateSessionOptions,
  SessionError,
  OPT_LEVELS,
  KNOWN_PROVIDERS,
  type SessionOptions,
  type OptLevel,
  type OpenedSession,
  type ProviderFailure,
} from './session.js';
export {
  synthesizeFeeds,
  declaredInputs,
  resolveInputs,
  randomTensor,
  parseShapeFlags,
  parseDimFlags,
  isBatchDimName,
  DEFAULT_MAX_ELEMENTS,
  type FeedOptions,
  type InputSpec,
  type ResolvedInput,
} from './inputs.js';
export { warmUp } from './warm-up.js';
export { toOrtTensor, fromOrtTensor, ortTypeOf, dataTypeOfOrt, allocate, type OrtType } from './tensors.js';
