import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import { readFile } from 'node:fs/promises';
const mode = process.argv[2];
const sc = createCanvas(32, 32);
const N = 40000;
const dir = mkdtempSync(join(tmpdir(), 'ef-leak-'));
const c = createCanvas(32, 32); c.getContext('2d').fillRect(0, 0, 10, 10);
const png = await c.encode('png');
for (let i = 0; i < N; i++) writeFileSync(join(dir, `${i}.png`), png);
const m = () => { const u = process.memoryUsage(); return `rss ${Math.round(u.rss/1e6)} heap ${Math.round(u.heapUsed/1e6)} ext ${Math.round(u.external/1e6)} ab ${Math.round(u.arrayBuffers/1e6)}`; };
for (let i = 0; i < N; i++) {
  const bytes = await readFile(join(dir, `${i}.png`));
  if (mode !== 'read') { const img = await loadImage(bytes); void img.width;
    if (mode === 'prep' || mode === 'get') { sc.width = 32; sc.height = 32; const ctx = sc.getContext('2d'); ctx.clearRect(0,0,32,32); ctx.drawImage(img, 0, 0, 32, 32); if (mode === 'get') ctx.getImageData(0, 0, 32, 32); }
  }
  if (i % 64 === 0) await new Promise((r) => setImmediate(r));
  if (i % 10000 === 0) console.log(mode, i, m());
}
console.log(mode, 'end', m());
rmSync(dir, { recursive: true });
