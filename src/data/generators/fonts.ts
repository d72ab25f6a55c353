// Fonts for generated images, all from npm packages (no network, no system fonts): registered once with
// Skia under private family names so the output does not depend on the machine's installed fonts.

import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { GlobalFonts } from '@napi-rs/canvas';
import { packageDir } from '../package-dir.js';

const FONTS: { family: string; pkg: string; file: string }[] = [
  { family: 'ef-dejavu-mono-bold', pkg: 'dejavu-fonts-ttf', file: 'ttf/DejaVuSansMono-Bold.ttf' },
  { family: 'ef-dejavu-sans', pkg: 'dejavu-fonts-ttf', file: 'ttf/DejaVuSans.ttf' },
  { family: 'ef-dejavu-condensed-bold', pkg: 'dejavu-fonts-ttf', file: 'ttf/DejaVuSansCondensed-Bold.ttf' },
  { family: 'ef-roboto-mono', pkg: '@fontsource/roboto-mono', file: 'files/roboto-mono-latin-500-normal.woff2' },
  { family: 'ef-oswald', pkg: '@fontsource/oswald', file: 'files/oswald-latin-400-normal.woff2' },
  { family: 'ef-share-tech-mono', pkg: '@fontsource/share-tech-mono', file: 'files/share-tech-mono-latin-400-normal.woff2' },
];

let registered: string[] | null = null;

/** Registers the fonts (once) and returns their family names. */
export function markingFonts(): string[] {
  if (registered) return registered;
  registered = [];
  for (const f of FONTS) {
    const path = join(packageDir(f.pkg), f.file);
    if (existsSync(path) && GlobalFonts.registerFromPath(path, f.family)) registered.push(f.family);
  }
  if (registered.length === 0) throw new Error('no font could be registered; reinstall the font packages (npm install)');
  return registered;
}
