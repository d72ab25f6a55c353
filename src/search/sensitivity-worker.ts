// Child process for the per-node sensitivity analysis (see sensitivity.ts): slow and memory-hungry, so
// it runs apart from the search and is stopped when its time is up.
// Usage: node sensitivity-worker.(js|ts) <request.json> <result.json>.

import { serveWorker } from './child.js';
import { computeSensitivity, type SensitivityRequest } from './sensitivity.js';

await serveWorker<SensitivityRequest, Awaited<ReturnType<typeof computeSensitivity>>>(computeSensitivity);
