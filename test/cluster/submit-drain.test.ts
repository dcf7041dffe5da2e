/**
 * Ctrl-C on a submitter whose input has all gone out in chunks: the drain waits for the agents
 * to answer them and writes their results, as it does while the input is still being read.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { startCli, writeJsonl } from '../helpers/cli.js';
import { killAtEnd } from '../helpers/processes.js';
import { duplicatesAndMissing, gatedAgent, SHARED_REDIS, untilChunkHeld } from './cluster-helpers.js';

const pids = killAtEnd();

test('Ctrl-C after the whole input is out drains: every chunk out is answered and written', { timeout: 120_000 }, async (t) => {
  const { dir, prefix, config, gate, agent } = await gatedAgent(t, pids);
  // 10 chunks, all out before the Ctrl-C.
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 200, (i) => ({ n: i, gate }));
  const out = path.join(dir, 'out.jsonl');
  const submit = startCli(['submit', '-c', config, '--redis', SHARED_REDIS, '--prefix', prefix, '-i', input, '-o', out, '--job', 'all-out', '--chunk-size', '20', '--progress', 'none', '--json']);
  pids.push(submit.child.pid!);
  await untilChunkHeld(SHARED_REDIS, prefix, 'all-out');
  // The window starts at 4 chunks and grows once the submitter hears of the agent: wait for all 10 out.
  const redis = new Redis(SHARED_REDIS);
  t.after(() => redis.disconnect());
  while ((await redis.hget(`${prefix}:job:all-out:progress`, 'chunksOut')) !== '10') await sleep(50);
  submit.child.kill('SIGINT');
  // Long enough for a submitter that does not wait to be gone before the answers come.
  await sleep(1000);
  fs.writeFileSync(gate, '');
  const r = await submit.done;
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /gpupool: draining \(chunks out are answered and written\); press Ctrl-C again to stop at once\n/);
  assert.equal((JSON.parse(r.stdout) as { done: number }).done, 200, r.stdout);
  assert.deepEqual(duplicatesAndMissing(out, 200), { duplicates: [], missing: [] });
  agent.child.kill('SIGINT');
  await agent.done;
});
