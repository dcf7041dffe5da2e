import { formatBytes, formatDuration } from '../config/index.js';
import { describeDrift, describeHeldBack, driftFields, inputIsThere } from '../run/index.js';
import type { AgentInfo } from './agent-info.js';
import type { ClusterStatus, JobStatusView } from './cluster-status.js';
import type { JobInputCheck } from './job-input-check.js';
import { exitSummary } from '../worker/index.js';

const n = (x: number): string => Math.round(x).toLocaleString('en-US');

function ago(ms: number, now: number): string {
  return `${formatDuration(Math.max(0, now - ms))} ago`;
}

function jobLines(v: JobStatusView, now: number): string[] {
  const { job, progress, journal } = v;
  const lines = [`  ${job.id}  model ${job.model}  input ${String(job.description.input ?? '?')}  output ${String(job.description.output ?? '?')}`];
  if (progress) {
    const read = progress.fractionRead !== null ? `, ${Math.floor(progress.fractionRead * 100)}% of the input read` : '';
    const before = progress.resumed ? ` (+${n(progress.resumed)} done before)` : '';
    lines.push(`    ${n(progress.done)} done, ${n(progress.failed)} failed${before}${read}; ${n(progress.itemsPerSecond)} items/s`);
    lines.push(`    chunks: ${n(progress.chunksOut)} out of a window of ${n(progress.window)} (${chunkCounts(v.chunks)}); ${progress.splits} split after an agent died${progress.stale ? `; ${n(progress.stale)} results of chunks from before --fresh dropped` : ''}`);
  } else if (journal) {
    const total = journal.counts.total !== null ? ` of ${n(journal.counts.total)}` : '';
    lines.push(`    ${n(journal.counts.done)} done, ${n(journal.counts.failed)} failed${total}; ${journal.finished ? 'finished' : 'not finished'} (journal in Redis)`);
  }
  const input = v.input;
  if (input && 'drift' in input) lines.push(`    ${describeDrift(input.drift, input.finished).replace('the same command', 'the same submit command')}`);
  else if (input && 'heldBack' in input) lines.push(`    ${describeHeldBack(input.heldBack).replace('the same command', 'the same submit command')}`);
  else if (input) lines.push(`    input: not checked: ${input.notChecked}`);
  const refused = input && 'drift' in input && input.drift.resumes !== true ? input.drift : undefined;
  if (v.submitter) lines.push(`    submitter: PID ${v.submitter.pid} on ${v.submitter.hostname}${progress ? `, updated ${ago(progress.updatedAt, now)}` : ''}`);
  else if (refused) {
    // --fresh needs the input there: a gone one must come back first.
    const fresh = inputIsThere(refused) ? ': with --fresh it runs the job again from the start' : '';
    // A finished job's submitter ended as it should: "gone" would read as a crash.
    const who = progress || Object.keys(v.chunks).length > 0 ? 'gone' : 'none running';
    lines.push(`    submitter: ${who}; the same submit command would refuse the input (above)${fresh}`);
  }
  else if (progress || Object.keys(v.chunks).length > 0) lines.push('    submitter: gone (run the same submit command again to resume)');
  for (const f of journal?.failures ?? []) lines.push(`    failed ${JSON.stringify(f.id)}: ${f.code}: ${exitSummary(f.message)}`);
  return lines;
}

function chunkCounts(c: Record<string, number>): string {
  const suspects = c.suspects ? `, ${n(c.suspects)} suspect items to run alone` : '';
  return `${['waiting', 'active', 'failed'].map((k) => `${n(c[k] ?? 0)} ${k}`).join(', ')}${suspects}`;
}

function agentLines(a: AgentInfo, now: number): string[] {
  const held = Object.values(a.jobs).reduce((k, j) => k + j.active, 0);
  const lines = [
    `  ${a.id}  ${a.state}  models: ${Object.keys(a.capacity).join(', ')}  chunks in hand: ${held}  items: ${n(a.itemsDone)} done, ${n(a.itemsFailed)} failed  (pid ${a.pid} on ${a.host}, seen ${ago(a.updatedAt, now)})`,
  ];
  for (const d of a.devices) {
    const workers = a.workers.filter((w) => w.device.split('+').includes(d.key));
    const mem = d.memoryUsed === null ? `${formatBytes(d.memoryTotal)} total` : `${formatBytes(d.memoryUsed)} of ${formatBytes(d.memoryTotal)} used`;
    const limits = workers.map((w) => `${w.state}, batch ${w.batchLimit}${w.restarts ? `, ${w.restarts} restarts` : ''}`).join('; ');
    lines.push(`    ${d.key.padEnd(8)} ${d.name.slice(0, 32).padEnd(32)} ${mem}  workers: ${workers.length}${limits ? ` (${limits})` : ''}`);
  }
  return lines;
}

/** The human form of `gpupool status --redis`. */
export function formatClusterStatus(s: ClusterStatus, now = Date.now()): string {
  const lines = [`Redis ${s.redis}, prefix ${s.prefix}`];
  lines.push(s.jobs.length === 0 ? 'jobs: none' : `jobs (${s.jobs.length}):`);
  for (const v of s.jobs) lines.push(...jobLines(v, now));
  if (s.olderFinished) lines.push(`  and ${n(s.olderFinished)} older finished jobs whose journal is in Redis: gpupool status --redis URL --prefix ${s.prefix} JOB shows one`);
  lines.push(s.agents.length === 0 ? 'agents: none' : `agents (${s.agents.length}):`);
  for (const a of s.agents) lines.push(...agentLines(a, now));
  return `${lines.join('\n')}\n`;
}

/**
 * The JSON form of `gpupool status --redis`: the status as read, each job's `input` in the fields
 * `gpupool status OUTPUT --json` gives (`inputNow`, `inputResumes`, `inputRefusal`), or `notChecked`.
 */
export function clusterStatusJson(s: ClusterStatus): string {
  const jobs = s.jobs.map(({ input, ...v }) => (input === undefined ? v : { ...v, input: inputJson(input) }));
  return `${JSON.stringify({ ...s, jobs }, null, 2)}\n`;
}

function inputJson(input: JobInputCheck): Record<string, unknown> {
  if ('drift' in input) return driftFields(input.drift);
  if ('heldBack' in input) return { inputHeldBack: { at: input.heldBack.at, bytes: input.heldBack.bytes } };
  return input;
}
