// Test helper: runs the CLI in this process and keeps what it prints, so a test can assert on the exit
// code, stdout and stderr.

import { Writable } from 'node:stream';
import { main } from './main.js';

/** A stream that keeps everything written to it in `text`. */
export function captureOutput(): Writable & { text: string } {
  const w = new Writable({
    write(chunk, _enc, cb) {
      w.text += String(chunk);
      cb();
    },
  }) as Writable & { text: string };
  w.text = '';
  return w;
}

/** `edgefit <argv>` in this process: the exit code and everything it printed. */
export async function runCli(argv: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = captureOutput();
  const stderr = captureOutput();
  const code = await main([...argv], { stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}
