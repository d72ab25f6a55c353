// The inspection event: one row per part the model looked at. `serve` produces them, `monitor ingest`
// reads them from files, and the event store keeps them. This file is the contract between the two.

/** One inspection. Fields follow docs/monitor.md; optional ones may be absent. */
export interface InspectionEvent {
  /** Stable id, for idempotent ingest (a file's events get `<file hash>:<line>`; serve makes a UUID). */
  id: string;
  /** Epoch milliseconds. */
  ts: number;
  line?: string;
  machine?: string;
  batch?: string;
  partId?: string;
  material?: string;
  /** Model id and version, as `<id>@<version>` or a free string. */
  model?: string;
  /** The label or the text the model gave. */
  prediction?: string;
  /** What the model says: a defect or not. */
  defect?: boolean;
  /** Confidence, 0 to 1. */
  score?: number;
  latencyMs?: number;
  /** Per-image input statistics (0–1 brightness, contrast as RMS, sharpness as Laplacian variance). */
  brightness?: number;
  contrast?: number;
  sharpness?: number;
  /** A short summary of an embedding (for example its first principal coordinates), where the model has one. */
  embedding?: number[];
  /** Filled later when an audit comes back; joined by partId. */
  truth?: string;
}

/** Where `serve` sends events. The event store implements it; tests may pass a fake. */
export interface EventSink {
  /** Resolves once the events are durable (an acknowledged event survives kill -9). */
  append(events: readonly InspectionEvent[]): Promise<void>;
  close(): Promise<void>;
}
