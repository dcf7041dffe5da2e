// The restart policy shared by protocol workers and HTTP replicas: backoff doubling up to its
// cap, reset once ready, a crash-loop guard; and WorkerSupervisor using it with a real worker.
import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pythonSdkPath } from '../../src/pool/index.js';
import { RestartScheduler, WorkerSupervisor } from '../../src/worker/index.js';
import { PY_FIXTURES, tempDir } from '../helpers/cli.js';
import { killAtEnd } from '../helpers/processes.js';

const leftovers = killAtEnd();

/** A scheduler whose restarts succeed or fail as `outcomes` says, on mocked timers. */
function scripted(outcomes: boolean[], maxStartFailures = 3) {
  const log: string[] = [];
  const restarter = new RestartScheduler(
    { backoffMs: 100, maxBackoffMs: 350, maxStartFailures },
    {
      restart: async () => {
        const ok = outcomes.shift() ?? true;
        log.push(ok ? 'restart ok' : 'restart failed');
        if (!ok) throw new Error('died before ready');
      },
      failed: (err) => log.push(`failed: ${err.message}`),
      gaveUp: (failures, err) => log.push(`gave up after ${failures}: ${err.message}`),
    },
  );
  return { restarter, log };
}

/** Advances mocked time by `ms`, letting the restart promises settle at each step. */
async function advance(ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 10) {
    mock.timers.tick(10);
    await new Promise((r) => setImmediate(r));
  }
}

test('backoff doubles after each failed restart up to max_backoff, and the guard gives up after max_start_failures', async (t) => {
  mock.timers.enable({ apis: ['setTimeout'] });
  t.after(() => mock.timers.reset());
  const { restarter, log } = scripted([false, false, false], 3);
  restarter.schedule();
  assert.equal(restarter.pending, true);
  await advance(90);
  assert.deepEqual(log, [], 'nothing before the first backoff (100 ms)');
  await advance(20);
  assert.deepEqual(log, ['restart failed', 'failed: died before ready']);
  // Failed at 100 ms: the second try is due at 300 ms.
  await advance(180);
  assert.equal(log.length, 2, 'the second try waits 200 ms');
  await advance(20);
  assert.equal(log.length, 4);
  // Failed at 300 ms: the third is due at 650 ms.
  await advance(330);
  assert.equal(log.length, 4, 'the third waits 350 ms (400 capped)');
  await advance(20);
  assert.deepEqual(log.slice(4), ['restart failed', 'failed: died before ready', 'gave up after 3: died before ready']);
  assert.equal(restarter.givenUp, true);
  assert.equal(restarter.restarts, 3);
  restarter.schedule();
  await advance(1000);
  assert.equal(log.length, 7, 'no restart after giving up');
});

test('a restart that gets ready resets the backoff and the failure count; stop() cancels a pending restart', async (t) => {
  mock.timers.enable({ apis: ['setTimeout'] });
  t.after(() => mock.timers.reset());
  const { restarter, log } = scripted([false, true, false, false], 3);
  restarter.schedule();
  await advance(110); // 100 ms: fails
  await advance(210); // 200 ms: ready
  assert.deepEqual(log, ['restart failed', 'failed: died before ready', 'restart ok']);
  restarter.schedule(); // crashed again: back to 100 ms, and two failures do not trip a guard of 3
  await advance(110);
  await advance(210);
  assert.equal(log.filter((l) => l === 'restart failed').length, 3);
  assert.equal(restarter.givenUp, false);
  restarter.stop();
  assert.equal(restarter.pending, false);
  await advance(2000);
  assert.equal(restarter.restarts, 4, 'nothing ran after stop()');
});

test('WorkerSupervisor: a worker whose restarts die before ready is given up with the reason', async () => {
  const dir = tempDir();
  const marker = path.join(dir, 'started');
  const script = [
    'import os, runpy, sys',
    `marker = ${JSON.stringify(marker)}`,
    'if os.path.exists(marker): sys.stderr.write("model file vanished\\n"); sys.exit(4)',
    'open(marker, "w").close()',
    `runpy.run_path(${JSON.stringify(path.join(PY_FIXTURES, 'noop_worker.py'))}, run_name="__main__")`,
  ].join('\n');
  const events: string[] = [];
  let gaveUp!: (reason: string) => void;
  const given = new Promise<string>((resolve) => (gaveUp = resolve));
  const supervisor = new WorkerSupervisor(
    {
      id: 'm/cpu:0/0',
      model: 'm',
      command: ['python3', '-c', script],
      cwd: dir,
      env: { ...process.env, GPUPOOL_PROTOCOL_FD: '3', PYTHONPATH: pythonSdkPath() },
      logFile: path.join(dir, 'worker.log'),
      startTimeoutMs: 20_000,
      batchDeadlineMs: 0,
    },
    { backoffMs: 10, maxBackoffMs: 50, maxStartFailures: 2 },
    {
      result: () => {},
      resultLines: () => {},
      failed: () => {},
      lost: () => void events.push('lost'),
      ready: () => void events.push('ready'),
      gaveUp: (reason) => gaveUp(reason),
    },
  );
  await supervisor.start();
  leftovers.push(supervisor.pid!);
  supervisor.crash('chaos');
  const reason = await given;
  // One line: the cause its stderr ends with, then the log (which keeps the whole stderr).
  assert.match(reason, /^worker m\/cpu:0\/0 died 2 times in a row before ready: worker m\/cpu:0\/0 failed to start: worker m\/cpu:0\/0 exited with code 4; stderr ends: model file vanished \(log: .*worker\.log\)$/);
  assert.equal(supervisor.state, 'given-up');
  assert.equal(supervisor.restarts, 2);
  assert.deepEqual(events, ['ready', 'lost']);
  assert.match(fs.readFileSync(path.join(dir, 'worker.log'), 'utf8'), /model file vanished/);
  await supervisor.stop(1000);
});
