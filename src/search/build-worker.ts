// Child process that builds one candidate: runs its passes on the source model (calibrating on the
// task's data where a pass needs it) and writes model.onnx. Passes can be slow and memory-hungry; here
// they cannot take the search down, and the search process stays small, so the peak memory of the
// measuring children is theirs alone. Usage: node build-worker.(js|ts) <request.json> <result.json>.

import { serveWorker } from './child.js';
import { buildCandidate, type BuildRequest } from './build.js';

await serveWorker<BuildRequest, Awaited<ReturnType<typeof buildCandidate>>>(buildCandidate);
