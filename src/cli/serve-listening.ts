// Test and bench helper: waits for a spawned `edgefit serve` to print where it listens.

import type { ChildProcess } from 'node:child_process';

/** Resolves with the URL of the `listening on …` line; `log` reads the server's stderr so far, at any time.
 *  Rejects if the process exits first, with what it printed. */
export function serveListening(child: ChildProcess): Promise<{ url: string; log: () => string }> {
  let text = '';
  return new Promise((resolve, reject) => {
    child.stderr?.on('data', (d) => {
      text += d.toString();
      const u = /listening on (http:\/\/\S+)/.exec(text)?.[1];
      if (u) resolve({ url: u, log: () => text });
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code} before listening:\n${text}`)));
  });
}
