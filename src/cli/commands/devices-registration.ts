import type { Command } from 'commander';
import { parsePositiveSeconds } from '../parse-flags.js';
import { stdoutClosed } from '../stdout-closed.js';
import { devicesCommand } from './devices-command.js';

export function registerDevicesCommand(program: Command): void {
  program
    .command('devices')
    .description('every device: memory, utilisation, and the processes on it (ours and others)')
    .option('--json', 'print JSON')
    .option('--watch [seconds]', 'refresh every N seconds (default 2) until Ctrl-C', parsePositiveSeconds('--watch'))
    .action(async (flags: { json?: boolean; watch?: boolean | number }) => {
      await devicesCommand({ json: flags.json, watch: flags.watch, signal: stdoutClosed });
    });
}
