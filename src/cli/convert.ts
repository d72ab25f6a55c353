// placeholder replaced by the convert implementation
import type { Command } from './command.js';
export const convertCommand: Command = { name: 'convert', summary: 'not yet built', args: [], flags: [], run: async () => 1 };
