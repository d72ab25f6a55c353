// placeholder replaced by the bench implementation
import type { Command } from './command.js';
export const benchCommand: Command = { name: 'bench', summary: 'not yet built', args: [], flags: [], run: async () => 1 };
