import { GpupoolError } from '../errors/index.js';
import type { ClusterJob } from './cluster-job.js';

/**
 * What makes the job registered under a name the job a submit describes: the model and its
 * command, the input (by identity, not by state: a file that grew since resumes, and its journal
 * judges that) and the output. Another job's chunks and results must never reach this output.
 */
const SAME_JOB: readonly (readonly [label: string, key: string])[] = [
  ['model', 'model'],
  ['command', 'command'],
  ['input', 'inputIdentity'],
  ['output', 'output'],
  ['shard', 'shard'],
];

/**
 * Refuses a `--job` name under which another job is registered (its submitter gone, its chunks
 * and results perhaps still in Redis), unless `--fresh` replaces it: taken over, its results would
 * be written into this output. `where` names the Redis and prefix.
 */
export function refuseAnotherJob(registered: ClusterJob | 'unreadable' | undefined, jobId: string, description: Record<string, unknown>, where: string): void {
  if (registered === undefined) return;
  const remedy = 'give this submit another --job name, or pass --fresh to replace that job (its chunks and results in Redis are deleted)';
  if (registered === 'unreadable') {
    throw new GpupoolError('GPUPOOL_E_JOURNAL_MISMATCH', `the job name "${jobId}" at ${where} is taken by a job whose record this gpupool cannot read; ${remedy}`);
  }
  const differ = SAME_JOB.filter(([, key]) => JSON.stringify(registered.description[key]) !== JSON.stringify(description[key])).map(([label]) => label);
  if (differ.length === 0) return;
  const theirs = registered.description;
  throw new GpupoolError(
    'GPUPOOL_E_JOURNAL_MISMATCH',
    `the job name "${jobId}" at ${where} is taken by another job, not finished (submitted by PID ${registered.submitter.pid} on ${registered.submitter.host}): ` +
      `its input ${shown(theirs.input)} and output ${shown(theirs.output)}, this submit's ${shown(description.input)} and ${shown(description.output)} ` +
      `(they differ in ${differ.join(', ')}); ${remedy}`,
  );
}

function shown(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value) ?? '?';
}
