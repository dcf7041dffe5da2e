import type { Command } from 'commander';
import { devicesCommand } from './devices-command.js';

export function registerDevicesCommand(program: Command): void {
  program
    .command('devices')
    .description('every device: memory, utilisation, and the processes on it (ours and others)')
    .option('--json', 'print JSON')
    .option('--watch [seconds]', 'refresh every N seconds (default 2) until Ctrl-C')
    .action(async (flags: { json?: boolean; watch?: boolean | string }) => {
      const watch = flags.watch === undefined ? undefined : flags.watch === true ? true : Number(flags.watch);
      await devicesCommand({ json: flags.json, watch });
    });
}
