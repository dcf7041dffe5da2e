/**
 * Three agents (separate processes, the real CLI, Python workers) share a 100,000-item job
 * on the real Redis; one is SIGKILLed while it holds a chunk. The chunk's lock expires, another
 * agent takes its items, and the output holds each id exactly once.
 *
 * The gate worker holds the job open: items past the first 10,000 wait for a gate file, so
 * once the output stops growing every agent is blocked inside chunks it cannot finish, and
 * the killed agent surely dies holding one (on a fast machine it once held none by the kill).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { startCli, tempDir, writeJsonl } from '../helpers/cli.js';
import { killAtEnd } from '../helpers/processes.js';
import { clusterConfig, duplicatesAndMissing, FIXTURES, SHARED_REDIS, startAgent, uniquePrefix, waitForLines } from './cluster-helpers.js';

const pids = killAtEnd();

/** The agents holding a chunk of `job` now: BullMQ names the worker on each job it takes (`pb`). */
async function holders(redis: Redis, prefix: string, job: string): Promise<Set<string>> {
  const held = new Set<string>();
  for (const chunk of await redis.lrange(`${prefix}:chunks-${job}:active`, 0, -1)) {
    const agent = await redis.hget(`${prefix}:chunks-${job}:${chunk}`, 'pb');
    if (agent) held.add(agent);
  }
  return held;
}

/** Resolves once `file` has not grown for half a second: every agent is blocked at the gate. */
async function untilStill(file: string): Promise<void> {
  let size = -1;
  while (fs.statSync(file).size !== size) {
    size = fs.statSync(file).size;
    await new Promise((r) => setTimeout(r, 500));
  }
}

test('3 agents share 100,000 items; one SIGKILLed mid-chunk; every id exactly once', { timeout: 120_000 }, async (t) => {
  const dir = tempDir();
  const prefix = uniquePrefix(t);
  const config = clusterConfig(dir, { worker: path.join(FIXTURES, 'gate_worker.py'), workers: 1 });
  const gate = path.join(dir, 'gate');
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 100_000, (i) => (i < 10_000 ? { n: i } : { n: i, gate }));
  const out = path.join(dir, 'out.jsonl');
  const agents = await Promise.all(['a1', 'a2', 'a3'].map((name) => startAgent(config, SHARED_REDIS, prefix, name)));
  for (const a of agents) pids.push(a.child.pid!);

  const submit = startCli(['submit', '-c', config, '--redis', SHARED_REDIS, '--prefix', prefix, '--job', 'kill-test', '-i', input, '-o', out,
    '--chunk-size', '500', '--lock-duration', '2s', '--progress', 'none', '--json']);
  pids.push(submit.child.pid!);
  // A batch may mix the last free items with gated ones, so not all 10,000 come before the gate.
  await waitForLines(out, 5_000);
  await untilStill(out);
  const redis = new Redis(SHARED_REDIS);
  t.after(() => redis.disconnect());
  // Every agent is blocked now; the job's window may have left one of them without a chunk,
  // so the one killed is one that holds some.
  let held = await holders(redis, prefix, 'kill-test');
  while (held.size === 0) held = await holders(redis, prefix, 'kill-test');
  const names = ['a1', 'a2', 'a3'];
  const victim = names.find((n) => held.has(n))!;
  agents[names.indexOf(victim)].child.kill('SIGKILL');
  fs.writeFileSync(gate, '');

  const r = await submit.done;
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { done: number; splits: number; devices: Record<string, number> };
  assert.equal(summary.done, 100_000);
  assert.ok(summary.splits >= 1, `a chunk ${victim} held went back split: ${r.stderr}`);
  assert.match(r.stderr, /chunk \S+ was lost with its agent \(job stalled more than allowable limit\); its \d+ items go back as two chunks/);
  const { duplicates, missing } = duplicatesAndMissing(out, 100_000);
  assert.deepEqual(duplicates, []);
  assert.deepEqual(missing, []);
  const survivors = names.filter((n) => n !== victim);
  const tookPart = Object.keys(summary.devices).map((d) => d.split('/')[0]);
  assert.ok(survivors.every((n) => tookPart.includes(n)), `both survivors took part: ${tookPart.join(', ')}`);
  // The job is gone from Redis once done and the agents let go of it: only their own entries are left.
  const left = async (): Promise<string[]> => (await redis.keys(`${prefix}:*`)).sort();
  const expected = [`${prefix}:agent-info`, `${prefix}:agents`, `${prefix}:meta`];
  for (let i = 0; i < 100 && JSON.stringify(await left()) !== JSON.stringify(expected); i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(await left(), expected);
  const alive = survivors.map((n) => agents[names.indexOf(n)]);
  for (const a of alive) a.child.kill('SIGINT');
  for (const a of alive) assert.equal((await a.done).code, 0);
});
