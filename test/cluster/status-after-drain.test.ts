/**
 * A submitter stopped by Ctrl-C drains (the chunks out are answered and written after its last
 * progress tick): `status --redis` then shows the counts it ended with, not those of a tick before.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCli, startCli, writeJsonl } from '../helpers/cli.js';
import { killAtEnd } from '../helpers/processes.js';
import { gatedAgent, SHARED_REDIS, untilChunkHeld } from './cluster-helpers.js';

const pids = killAtEnd();

test('status --redis after a drained submitter shows its final counts', { timeout: 120_000 }, async (t) => {
  const { dir, prefix, config, gate, agent } = await gatedAgent(t, pids);
  // More than the window holds: the Ctrl-C comes while the input is still being read.
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 4000, (i) => ({ n: i, gate }));
  const submit = startCli(['submit', '-c', config, '--redis', SHARED_REDIS, '--prefix', prefix, '-i', input, '-o', path.join(dir, 'out.jsonl'), '--job', 'drained', '--chunk-size', '20', '--progress', 'none', '--json']);
  pids.push(submit.child.pid!);
  await untilChunkHeld(SHARED_REDIS, prefix, 'drained');
  // Ticks publish nothing done yet while the gate holds every item.
  await sleep(1500);
  submit.child.kill('SIGINT');
  await sleep(300);
  fs.writeFileSync(gate, '');
  const r = await submit.done;
  assert.equal(r.code, 130, r.stderr);
  const summary = JSON.parse(r.stdout) as { outcome: string; done: number };
  assert.equal(summary.outcome, 'interrupted');
  assert.ok(summary.done > 0, `the chunks out were answered and written in the drain: ${r.stdout} ${r.stderr}`);

  const status = await runCli(['status', '--redis', SHARED_REDIS, '--prefix', prefix, 'drained', '--json']);
  assert.equal(status.code, 0, status.stderr);
  const [job] = (JSON.parse(status.stdout) as { jobs: { progress: { done: number; chunksOut: number } }[] }).jobs;
  assert.deepEqual([job.progress.done, job.progress.chunksOut], [summary.done, 0]);
  agent.child.kill('SIGINT');
  await agent.done;
});
