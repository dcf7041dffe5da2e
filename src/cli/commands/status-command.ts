import path from 'node:path';
import type { Command } from 'commander';
import { formatDuration } from '../../config/index.js';
import { GpupoolError } from '../../errors/index.js';
import { describeDrift, describeHeldBack, driftFields, heldBackNow, inputDrift } from '../../run/index.js';
import { FORGOTTEN_RESULTS_META, readJournalStatus, stateDirFor } from '../../store/index.js';
import { exitSummary } from '../../worker/index.js';

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description("a job's progress, failures and learned batch limits, from its journal")
    .argument('[output]', 'the output file of the run (its journal sits beside it; not needed with --state-dir); with --redis: a job name')
    .option('--state-dir <dir>', 'the journal folder, if --state-dir was given to run')
    .option('--redis <url>', "the jobs, their progress and the agents (with their devices) on this Redis; JOB narrows to one")
    .option('--prefix <name>', 'with --redis: namespace of the queues', 'gpupool')
    .option('--json', 'print JSON')
    .action(async (output: string | undefined, flags: { stateDir?: string; json?: boolean; redis?: string; prefix: string }) => {
      if (flags.redis !== undefined) {
        const { clusterStatusJson, formatClusterStatus, readClusterStatus } = await import('../../cluster/index.js');
        const cluster = await readClusterStatus({ redisUrl: flags.redis, prefix: flags.prefix, job: output });
        process.stdout.write(flags.json ? clusterStatusJson(cluster) : formatClusterStatus(cluster));
        return;
      }
      if (output === undefined && flags.stateDir === undefined) {
        throw new GpupoolError('GPUPOOL_E_USAGE', 'status needs the OUTPUT file of a run (or the --state-dir it was given), or --redis URL [JOB] for the jobs on a Redis');
      }
      const dir = flags.stateDir ?? stateDirFor(path.resolve(output!));
      const status = readJournalStatus(dir);
      if (!status) {
        const what = output === undefined ? `in --state-dir ${dir}` : `for "${output}" (looked in ${dir}${flags.stateDir === undefined ? '; a run given --state-dir keeps it there: give status the same' : ''}; a \`gpupool submit --journal redis\` job's is in Redis: gpupool status --redis URL JOB)`;
        throw new GpupoolError('GPUPOOL_E_NOT_FOUND', `no journal ${what}`);
      }
      const drift = await inputDrift(status.description, status.meta, dir);
      const heldBack = drift ? undefined : heldBackNow(status.description);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ ...status, ...(drift && driftFields(drift)), ...(heldBack && { inputHeldBack: { at: heldBack.at, bytes: heldBack.bytes } }) }, null, 2)}\n`);
        return;
      }
      const c = status.counts;
      const lines = [
        `job: ${JSON.stringify(status.description)}`,
        `state: ${status.finished ? (heldBack ? 'finished but for its last line, which waits (input: below)' : 'finished') : status.running ? `running (pid ${status.running.pid})` : 'stopped (resumable)'}; ${c.done} done, ${c.failed} failed${c.total !== null ? ` of ${c.total}` : ''}`,
        ...(drift ? [describeDrift(drift, status.finished)] : []),
        ...(heldBack ? [describeHeldBack(heldBack)] : []),
        ...forgottenLine(status.meta[FORGOTTEN_RESULTS_META]),
        `updated ${formatDuration(Date.now() - status.updatedAt)} ago`,
      ];
      for (const [model, limits] of Object.entries(status.learnedLimits)) {
        lines.push(`learned batch limits of ${model}: ${Object.entries(limits).map(([k, v]) => `${k}=${v.limit}`).join(', ')}`);
      }
      for (const f of status.failures) lines.push(`  failed ${JSON.stringify(f.id)}: ${f.code}: ${exitSummary(f.message)}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

/** Results in the output that the counts leave out: of files a resume by file name found gone (`remapJournal`). */
function forgottenLine(forgotten: unknown): string[] {
  if (typeof forgotten !== 'number' || forgotten <= 0) return [];
  return [`output: ${forgotten} more result line${forgotten === 1 ? '' : 's'}, of files no longer in the input folder when a run resumed it by file name (not counted above)`];
}
