// The serve module's public surface: the server, the ladder, the admission rule and the event sink. Re-exports only.
export { startServer, type ServerOptions, type RunningServer } from './server.js';
export { resolveLadder, type Ladder, type LadderModel } from './ladder.js';
export { admit, predictStart, retryAfterSeconds, type AdmissionState, type Decision, type RungTime } from './admission.js';
export { Scheduler, type SchedulerOptions, type Outcome } from './scheduler.js';
export { ServiceTime } from './service-time.js';
export { calibrateThreshold, type Calibration, type CascadeSample } from './cascade.js';
export { JsonlSink } from './jsonl-sink.js';
export { ServeMetrics } from './metrics.js';
