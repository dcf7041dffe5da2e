/**
 * An agent joining mid-job takes work at once; Ctrl-C drains an agent (its chunks finish, it
 * exits 0) while the job goes on; `gpupool status --redis` shows the job, its progress and the
 * agents with their devices, and a finished job's journal when it is kept in Redis.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runCli, startCli, tempDir, writeJsonl } from '../helpers/cli.js';
import { killAtEnd } from '../helpers/processes.js';
import { clusterConfig, duplicatesAndMissing, FIXTURES, SHARED_REDIS, startAgent, uniquePrefix, waitForLines, waitForText } from './cluster-helpers.js';

const pids = killAtEnd();

interface StatusJson {
  jobs: { job: { id: string; model: string }; progress: { done: number } | null; submitter: { pid: number } | null; journal: { counts: { done: number } } | null }[];
  agents: { id: string; devices: { key: string }[]; jobs: Record<string, { active: number }> }[];
}

test('an agent joining mid-job takes work; Ctrl-C drains another; status shows jobs, agents and devices', { timeout: 120_000 }, async (t) => {
  const dir = tempDir();
  const prefix = uniquePrefix(t);
  const config = clusterConfig(dir, { worker: path.join(FIXTURES, 'gate_worker.py'), workers: 1, batch: 8 });
  // The first 200 items pass; the rest wait for the gate file, which holds the job open
  // (its chunks in the agents' hands) until the test has looked at it. A batch may mix the
  // last free items with gated ones, so only the first 150 are sure to come before the gate.
  const gate = path.join(dir, 'gate');
  const count = 2000;
  const input = writeJsonl(path.join(dir, 'in.jsonl'), count, (i) => (i < 200 ? { n: i } : { n: i, gate }));
  const out = path.join(dir, 'out.jsonl');
  const first = await startAgent(config, SHARED_REDIS, prefix, 'early');
  pids.push(first.child.pid!);
  const submit = startCli(['submit', '-c', config, '--redis', SHARED_REDIS, '--prefix', prefix, '--job', 'life', '--journal', 'redis', '-i', input, '-o', out,
    '--chunk-size', '50', '--lock-duration', '2s', '--progress', 'none', '--json']);
  pids.push(submit.child.pid!);
  await waitForLines(out, 100);

  const late = await startAgent(config, SHARED_REDIS, prefix, 'late');
  pids.push(late.child.pid!);
  // Joining mid-job, it takes chunks at once (they wait in the queue; the window grew with it).
  const status = async (): Promise<StatusJson> => JSON.parse((await runCli(['status', '--redis', SHARED_REDIS, '--prefix', prefix, 'life', '--json'])).stdout) as StatusJson;
  let json = await status();
  while (!(json.agents.find((a) => a.id === 'late')?.jobs.life?.active ?? 0)) json = await status();
  assert.deepEqual(json.jobs.map((j) => [j.job.id, j.job.model]), [['life', 'echo']]);
  assert.ok(json.jobs[0].progress!.done >= 100);
  assert.equal(json.jobs[0].submitter!.pid, submit.child.pid);
  assert.deepEqual(json.agents.map((a) => [a.id, a.devices.map((d) => d.key)]), [['early', ['cpu:0']], ['late', ['cpu:0']]]);
  const text = await runCli(['status', '--redis', SHARED_REDIS, '--prefix', prefix]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /jobs \(1\):\n {2}life {2}model echo {2}input .*in\.jsonl {2}output .*out\.jsonl\n {4}[\d,]+ done, 0 failed, \d+% of the input read/);
  assert.match(text.stdout, /submitter: PID \d+ on /);
  assert.match(text.stdout, /agents \(2\):\n {2}early {2}running {2}models: echo {2}chunks in hand: \d/);
  assert.match(text.stdout, /\n {4}cpu:0 {4}.* used {2}workers: 1 \((ready|busy), batch \d+\)/);

  // Ctrl-C: the early agent finishes the chunks it holds (once the gate opens) and exits 0.
  first.child.kill('SIGINT');
  await waitForText(first.child, 'draining');
  fs.writeFileSync(gate, '');
  const drained = await first.done;
  assert.equal(drained.code, 0, drained.stderr);
  assert.match(drained.stderr, /draining: chunks in hand finish and their results are sent/);

  const r = await submit.done;
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { done: number; devices: Record<string, number> };
  assert.equal(summary.done, count);
  assert.ok(summary.devices['late/cpu:0'] > 0, `the late agent took work: ${JSON.stringify(summary.devices)}`);
  const { duplicates, missing } = duplicatesAndMissing(out, count);
  assert.deepEqual(duplicates, []);
  assert.deepEqual(missing, []);

  // Finished: the job left the queues, and its journal (kept in Redis) still answers for it.
  const done = await runCli(['status', '--redis', SHARED_REDIS, '--prefix', prefix, 'life']);
  assert.equal(done.code, 0, done.stderr);
  assert.match(done.stdout, /life {2}model echo .*\n {4}2,000 done, 0 failed of 2,000; finished \(journal in Redis\)/);
  // The agent still running its model is shown with the finished job, as with a running one.
  const doneJson = JSON.parse((await runCli(['status', '--redis', SHARED_REDIS, '--prefix', prefix, 'life', '--json'])).stdout) as StatusJson;
  assert.deepEqual(doneJson.agents.map((a) => a.id), ['late']);
  // SIGTERM (what systemd and Kubernetes send) drains like Ctrl-C.
  late.child.kill('SIGTERM');
  const stopped = await late.done;
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.match(stopped.stderr, /draining: chunks in hand finish/);
});
