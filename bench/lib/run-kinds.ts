// The LoRA benches run each kind (adapters, full fine-tuning) in a process of its own, so that each one's
// peak RSS is its own. This runs the bench script again as that child and reads its last stdout line.

import { spawnSync } from 'node:child_process';

/** Runs `script` once per kind with COMPRESS_CHILD=`${prefix}-${kind}` and `env`; each child's JSON, or its error. */
export function runKinds(script: string, root: string, prefix: string, env: Record<string, string>, into: Record<string, unknown>): Record<string, unknown> {
  for (const kind of ['lora', 'full'] as const) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], {
      cwd: root,
      env: { ...process.env, ...env, COMPRESS_CHILD: `${prefix}-${kind}` },
      encoding: 'utf8',
    });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    into[kind] = r.status === 0 ? JSON.parse(line) : { error: r.stderr.slice(-2000) };
    console.log(`${prefix} ${kind}`, JSON.stringify(into[kind]));
  }
  return into;
}
