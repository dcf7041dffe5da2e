import path from 'node:path';
import type { Command } from 'commander';
import { formatDuration } from '../../config/index.js';
import { GpupoolError } from '../../errors/index.js';
import { readJournalStatus, stateDirFor } from '../../store/index.js';

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description("a job's progress, failures and learned batch limits, from its journal")
    .argument('<output>', 'the output file of the run (its journal sits beside it)')
    .option('--state-dir <dir>', 'the journal folder, if --state-dir was given to run')
    .option('--json', 'print JSON')
    .action((output: string, flags: { stateDir?: string; json?: boolean }) => {
      const dir = flags.stateDir ?? stateDirFor(path.resolve(output));
      const status = readJournalStatus(dir);
      if (!status) throw new GpupoolError('GPUPOOL_E_NOT_FOUND', `no journal for "${output}" (looked in ${dir})`);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
        return;
      }
      const c = status.counts;
      const lines = [
        `job: ${JSON.stringify(status.description)}`,
        `state: ${status.finished ? 'finished' : status.running ? `running (pid ${status.running.pid})` : 'stopped (resumable)'}; ${c.done} done, ${c.failed} failed${c.total !== null ? ` of ${c.total}` : ''}`,
        `updated ${formatDuration(Date.now() - status.updatedAt)} ago`,
      ];
      for (const [model, limits] of Object.entries(status.learnedLimits)) {
        lines.push(`learned batch limits of ${model}: ${Object.entries(limits).map(([k, v]) => `${k}=${v.limit}`).join(', ')}`);
      }
      for (const f of status.failures) lines.push(`  failed ${JSON.stringify(f.id)}: ${f.code}: ${f.message.split('\n')[0]}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
