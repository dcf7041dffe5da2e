/**
 * Poison items: one that crashes its worker is isolated inside the agent (the scheduler's
 * bisection); one that kills the agent itself makes its chunk fail as stalled, again and
 * again, and the submitter splits it until the item is alone and fails, while the rest of
 * the chunk completes.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runCli, startCli, tempDir, writeJsonl } from '../helpers/cli.js';
import { killAtEnd } from '../helpers/processes.js';
import { clusterConfig, FIXTURES, SHARED_REDIS, startAgent, tallyIds, uniquePrefix, type RunningCli } from './cluster-helpers.js';

const pids = killAtEnd();

test('an item that crashes its worker fails alone inside the agent; the rest of its chunk completes', { timeout: 120_000 }, async (t) => {
  const dir = tempDir();
  const prefix = uniquePrefix(t);
  const config = clusterConfig(dir, { worker: 'crash_worker.py', workers: 1, batch: 16 });
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 1000, (i) => (i === 499 ? { crash: true } : { n: i }));
  // A blank line (after line 600): not an input, so not in the finished job's total.
  const lines = fs.readFileSync(input, 'utf8').split('\n');
  fs.writeFileSync(input, [...lines.slice(0, 600), '  ', ...lines.slice(600)].join('\n'));
  const out = path.join(dir, 'out.jsonl');
  const agent = await startAgent(config, SHARED_REDIS, prefix, 'p1');
  pids.push(agent.child.pid!);

  const r = await startCli(['submit', '-c', config, '--redis', SHARED_REDIS, '--prefix', prefix, '-i', input, '-o', out, '--chunk-size', '100', '--progress', 'none', '--json']).done;
  assert.equal(r.code, 1, r.stderr);
  const { ids, errors } = tallyIds(out);
  assert.equal(ids.size, 1000);
  assert.ok([...ids.values()].every((n) => n === 1));
  assert.deepEqual([...errors], [[500, 'GPUPOOL_E_WORKER_CRASHED']]);
  assert.equal(JSON.parse(r.stdout).splits, 0, 'the agent survived: no chunk went back');
  const status = await runCli(['status', out, '--json']);
  assert.equal(status.code, 0, status.stderr);
  assert.deepEqual((JSON.parse(status.stdout) as { counts: unknown }).counts, { done: 999, failed: 1, total: 1000 });
  // Submitted again: nothing is redone, and the job still has its failed item (exit 1).
  const again = await startCli(['submit', '-c', config, '--redis', SHARED_REDIS, '--prefix', prefix, '-i', input, '-o', out, '--chunk-size', '100', '--progress', 'none', '--json']).done;
  assert.equal(again.code, 1, again.stderr);
  const summary = JSON.parse(again.stdout) as { done: number; resumed: number; resumedFailed: number };
  assert.deepEqual([summary.done, summary.resumed, summary.resumedFailed], [0, 1000, 1]);
  agent.child.kill('SIGINT');
  assert.equal((await agent.done).code, 0);
});

test('an item that kills its agent: the chunk is split until the item fails alone (GPUPOOL_E_AGENT_LOST); its neighbours complete', { timeout: 120_000 }, async (t) => {
  const dir = tempDir();
  const prefix = uniquePrefix(t);
  const config = clusterConfig(dir, { worker: path.join(FIXTURES, 'agent_killer_worker.py'), workers: 1, batch: 4 });
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 200, (i) => (i === 99 ? { kill_agent: true } : { n: i }));
  const out = path.join(dir, 'out.jsonl');

  // Like systemd's Restart=always: an agent that dies is started again. Each supervisor stops
  // its own agent at the end, also one that was still starting when the submitter finished.
  let stopping = false;
  let deaths = 0;
  const running = new Set<RunningCli>();
  const keepUp = async (name: string): Promise<void> => {
    while (!stopping) {
      let agent: RunningCli;
      try {
        agent = await startAgent(config, SHARED_REDIS, prefix, name);
      } catch {
        continue; // killed while starting (it had taken a chunk already)
      }
      pids.push(agent.child.pid!);
      running.add(agent);
      if (stopping) agent.child.kill('SIGINT');
      const exit = await agent.done;
      running.delete(agent);
      if (exit.signal === 'SIGKILL') deaths++;
    }
  };
  const supervisors = ['k1', 'k2'].map((name) => keepUp(name));

  const r = await startCli(['submit', '-c', config, '--redis', SHARED_REDIS, '--prefix', prefix, '-i', input, '-o', out, '--chunk-size', '4', '--lock-duration', '1s', '--progress', 'none', '--json']).done;
  stopping = true;
  assert.equal(r.code, 1, r.stderr);
  const { ids, errors } = tallyIds(out);
  assert.equal(ids.size, 200);
  assert.ok([...ids.values()].every((n) => n === 1), 'each id once');
  assert.deepEqual([...errors.keys()], [100]);
  assert.equal(errors.get(100), 'GPUPOOL_E_AGENT_LOST');
  const failed = (await import('../helpers/cli.js')).readOutput(out).find((l) => l.id === 100)!;
  assert.match(failed.error!.message, /the agent running this item alone died 2 times with it/);
  const summary = JSON.parse(r.stdout) as { splits: number };
  // 4 → 2 → 1 (chunks in hand beside it may be split too), then the item alone, twice.
  assert.ok(summary.splits >= 2, r.stderr);
  assert.ok(deaths >= 4, `agents killed: ${deaths}`);

  // Let the supervisors' last agents go.
  for (const agent of running) agent.child.kill('SIGINT');
  await Promise.all(supervisors);
});
