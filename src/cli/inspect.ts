// placeholder replaced by the inspect implementation
import type { Command } from './command.js';
export const inspectCommand: Command = { name: 'inspect', summary: 'not yet built', args: [], flags: [], run: async () => 1 };
