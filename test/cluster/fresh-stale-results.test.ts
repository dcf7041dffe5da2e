/**
 * `submit --fresh` after the input was edited, while an agent still holds chunks of the killed
 * submitter's run: the agent answers them after the fresh submitter started, and those results
 * (of the old input) are dropped and counted, never written.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { readOutput, startCli, writeJsonl } from '../helpers/cli.js';
import { killAtEnd } from '../helpers/processes.js';
import { duplicatesAndMissing, gatedAgent, SHARED_REDIS, untilChunkHeld } from './cluster-helpers.js';

const pids = killAtEnd();

test('--fresh writes no result of a chunk an agent held from before (an edited input): dropped and counted', { timeout: 120_000 }, async (t) => {
  const { dir, prefix, config, gate, agent } = await gatedAgent(t, pids);
  const input = path.join(dir, 'in.jsonl');
  const out = path.join(dir, 'out.jsonl');
  const count = 400;
  // The first version's items wait for the gate: the agent holds its chunks until the fresh run is on.
  writeJsonl(input, count, (i) => ({ v: 1, n: i, gate }));
  const args = ['submit', '-c', config, '--redis', SHARED_REDIS, '--prefix', prefix, '-i', input, '-o', out, '--job', 'edited', '--chunk-size', '20', '--progress', 'none', '--json'];

  const first = startCli(args);
  pids.push(first.child.pid!);
  await untilChunkHeld(SHARED_REDIS, prefix, 'edited');
  first.child.kill('SIGKILL');
  await first.done;
  writeJsonl(input, count, (i) => ({ v: 2, n: i }));

  const fresh = startCli([...args, '--fresh']);
  pids.push(fresh.child.pid!);
  // Once the fresh submitter has registered the job (its chunks are then on the queue), the
  // agent may finish the old chunks in hand: their results reach the stream it reads.
  const redis = new Redis(SHARED_REDIS);
  t.after(() => redis.disconnect());
  const registeredBy = async (): Promise<number | undefined> => {
    const text = await redis.hget(`${prefix}:jobs`, 'edited');
    return text === null ? undefined : (JSON.parse(text) as { submitter: { pid: number } }).submitter.pid;
  };
  while ((await registeredBy()) !== fresh.child.pid) await new Promise((r) => setTimeout(r, 50));
  fs.writeFileSync(gate, '');

  const r = await fresh.done;
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { outcome: string; done: number; stale: number };
  assert.equal(summary.outcome, 'complete');
  assert.equal(summary.done, count);
  const stale = readOutput(out).filter((l) => (l.output as { v: number }).v !== 2);
  assert.equal(stale.length, 0, 'every line is of the edited input');
  assert.deepEqual(duplicatesAndMissing(out, count), { duplicates: [], missing: [] });
  assert.ok(summary.stale > 0, `the old chunks' results were counted as dropped: ${r.stdout}`);
  agent.child.kill('SIGINT');
  await agent.done;
});
