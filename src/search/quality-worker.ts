// Child process that measures one candidate's quality (see quality.ts), so that a crash or a memory
// blow-up in ORT cannot touch the search. Usage: node quality-worker.(js|ts) <request.json> <result.json>.

import { serveWorker } from './child.js';
import { measureQuality, type QualityRequest } from './quality.js';

await serveWorker<QualityRequest, Awaited<ReturnType<typeof measureQuality>>>(measureQuality);
