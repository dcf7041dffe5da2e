import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { resolveConfig } from '../../src/config/index.js';
import { CpuProvider } from '../../src/devices/index.js';
import { GpupoolError } from '../../src/errors/index.js';
import { Pool } from '../../src/pool/index.js';
import { newWorkItem, type ItemSink } from '../../src/scheduler/index.js';
import { AnswerPolling, answerPollMicros, WorkerProcess, type WorkerExit } from '../../src/worker/index.js';

const root = path.resolve(import.meta.dirname, '..', '..');

/** Event-loop turns until `polling` stops (each await lets its immediates run); how many it took. */
async function turnsUntilIdle(polling: AnswerPolling): Promise<number> {
  let turns = 0;
  while (polling.active) {
    await new Promise((resolve) => setImmediate(resolve));
    turns++;
  }
  return turns;
}

test('gpupool polls for the answer to a lone batch: for its window at most, and not once another batch is out', async () => {
  // A clock that moves 1 ms per read: a 20 ms window is about 20 turns, however loaded the machine.
  let clock = 0;
  const polling = new AnswerPolling(20_000, () => ++clock);
  polling.sent(true);
  assert.equal(polling.active, true);
  const turns = await turnsUntilIdle(polling);
  assert.ok(turns >= 5 && turns <= 21, `the window of 20 ms ended after ${turns} turns`);
  assert.equal(polling.outstanding, 1); // the window ended, the batch is still out

  // Answered: it stops at the next turn, well within the window.
  const lone = new AnswerPolling(1_000_000);
  lone.sent(true);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(lone.active, true);
  lone.settled();
  assert.ok((await turnsUntilIdle(lone)) <= 1);

  // A second batch out: a stream, not a lone request; it stops, and a third does not start it.
  const stream = new AnswerPolling(1_000_000);
  stream.sent(true);
  stream.sent(true);
  assert.ok((await turnsUntilIdle(stream)) <= 1);
  stream.sent(true);
  assert.equal(stream.active, false);
  // Batches given back by a worker that died count as settled too; the next lone one is polled for.
  stream.settled(3);
  assert.equal(stream.outstanding, 0);
  stream.sent(true);
  assert.equal(stream.active, true);
  stream.settled();
  assert.ok((await turnsUntilIdle(stream)) <= 1);

  // A lone batch answered and, in the same tick, the next sent to a sleeping worker: the polling
  // for the first stops, though its window has not ended.
  const handover = new AnswerPolling(1_000_000);
  handover.sent(true);
  handover.settled();
  handover.sent(false);
  assert.ok((await turnsUntilIdle(handover)) <= 1);
  assert.equal(handover.outstanding, 1);

  // A send that woke a sleeping worker is not polled for; it is still counted.
  const quiet = new AnswerPolling(1_000_000);
  quiet.sent(false);
  assert.equal(quiet.active, false);
  assert.equal(quiet.outstanding, 1);

  const off = new AnswerPolling(0);
  off.sent(true);
  assert.equal(off.active, false);
});

test('GPUPOOL_ANSWER_POLL_US: off unless set, whole microseconds; a bad value is a usage error naming it', () => {
  assert.equal(answerPollMicros({}), 0);
  assert.equal(answerPollMicros({ GPUPOOL_ANSWER_POLL_US: '100', GPUPOOL_SPIN_US: '0' }), 100);
  assert.throws(
    () => answerPollMicros({ GPUPOOL_ANSWER_POLL_US: 'fast' }),
    (err: unknown) => err instanceof GpupoolError && err.code === 'GPUPOOL_E_USAGE' && /GPUPOOL_ANSWER_POLL_US="fast": expected whole microseconds from 0/.test(err.message),
  );
});

/**
 * A real worker process (Python SDK, polling 0.2 s for its next batch) that answers at once, or,
 * for items {"sleep": s}, after s seconds; an item {"raise": true} fails the batch.
 */
function startWorker(polling: AnswerPolling, onResult: () => void, onExit: (exit: WorkerExit<string>) => void, spinUs = '200000', command?: string[]): WorkerProcess<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpupool-answer-polling-'));
  const script = path.join(dir, 'worker.py');
  fs.writeFileSync(
    script,
    [
      'import time, gpupool',
      'class W(gpupool.Worker):',
      '    def predict(self, batch):',
      '        for item in batch:',
      '            time.sleep(item.get("sleep", 0))',
      '            if item.get("raise"):',
      '                raise ValueError("asked to fail")',
      '        return batch',
      'gpupool.serve(W)',
    ].join('\n'),
  );
  return new WorkerProcess<string>(
    {
      id: 'm/cpu/0',
      model: 'm',
      command: command ?? ['python3', script],
      cwd: dir,
      env: { ...process.env, GPUPOOL_PROTOCOL_FD: '3', GPUPOOL_WORKER_ID: 'm/cpu/0', GPUPOOL_MODEL: 'm', GPUPOOL_SPIN_US: spinUs, PYTHONPATH: path.join(root, 'sdk', 'python') },
      logFile: path.join(dir, 'worker.log'),
      startTimeoutMs: 30_000,
      batchDeadlineMs: 0,
      answerPolling: polling,
    },
    { result: onResult, resultLines: onResult, failed: onResult, exit: onExit },
  );
}

test('a worker process tells the polling of each batch it sends, each answer, and the batches it held when it died; it polls only where the worker is awake and the batch alone', async (t) => {
  const polling = new AnswerPolling(1_000_000);
  let answered: () => void = () => {};
  let exited: (exit: WorkerExit<string>) => void = () => {};
  const worker = startWorker(
    polling,
    () => answered(),
    (exit) => exited(exit),
  );
  t.after(() => worker.kill()); // a failed assertion must not leave the process holding the test open
  await worker.start();
  assert.equal(worker.ready?.poll_us, 200_000);
  assert.equal(polling.outstanding, 0);
  const roundTrip = async (item: string): Promise<boolean> => {
    const answer = new Promise<void>((resolve) => (answered = resolve));
    assert.ok(worker.dispatch('b', [item]));
    assert.equal(polling.outstanding, 1);
    const polled = polling.active;
    await answer;
    assert.equal(polling.outstanding, 0);
    assert.ok((await turnsUntilIdle(polling)) <= 1);
    return polled;
  };

  // The first batch wakes the worker (asleep since ready): not polled for.
  assert.equal(await roundTrip('{"x":1}'), false);
  // Sent within the 0.2 s the worker polls after its answer: polled for.
  assert.equal(await roundTrip('{"x":2}'), true);
  // A batch that fails is settled by its `failed` answer like any other.
  assert.equal(await roundTrip('{"raise":true}'), true);
  // Sent after the worker went back to sleep: not polled for.
  await new Promise((resolve) => setTimeout(resolve, 400));
  assert.equal(await roundTrip('{"x":3}'), false);

  const exit = new Promise<WorkerExit<string>>((resolve) => (exited = resolve));
  assert.ok(worker.dispatch('slow', ['{"sleep":30}']));
  assert.equal(polling.active, true);
  // Two out: no longer polled for.
  assert.ok(worker.dispatch('queued', ['{"x":4}']));
  assert.ok((await turnsUntilIdle(polling)) <= 1);
  assert.equal(polling.outstanding, 2);
  worker.kill();
  assert.deepEqual((await exit).inflight, ['slow', 'queued']);
  assert.equal(polling.outstanding, 0);
  assert.ok((await turnsUntilIdle(polling)) <= 1);
});

test('the workers of a pool share one polling: a batch sent to each counts twice', async (t) => {
  const env = process.env.GPUPOOL_ANSWER_POLL_US;
  process.env.GPUPOOL_ANSWER_POLL_US = '100';
  t.after(() => (env === undefined ? delete process.env.GPUPOOL_ANSWER_POLL_US : (process.env.GPUPOOL_ANSWER_POLL_US = env)));
  const command = ['python3', path.join(root, 'examples', 'noop', 'noop-worker.py')];
  const config = resolveConfig({ models: { m: { command, devices: 'cpu', workers_per_device: 2, batch: { max: 1, timeout: '1ms', in_flight: 1 } } } }, root);
  let answers = 0;
  let allAnswered: () => void = () => {};
  const sink: ItemSink = { done: () => {}, doneJson: () => ++answers === 2 && allAnswered(), failed: () => {} };
  const pool = await Pool.start({ config, logDir: fs.mkdtempSync(path.join(os.tmpdir(), 'gpupool-answer-polling-pool-')), sinkFor: () => sink, providers: [new CpuProvider()], sampleEveryMs: 60_000 });
  t.after(() => pool.destroy());
  const scheduler = pool.scheduler('m');
  const done = new Promise<void>((resolve) => (allAnswered = resolve));
  scheduler.push(newWorkItem(0, 1, '{"a":1}'));
  scheduler.push(newWorkItem(1, 2, '{"a":2}'));
  scheduler.pump(true);
  assert.deepEqual(pool.workers.map((w) => w.supervisor.inflightCount), [1, 1], 'one batch on each worker');
  assert.equal(pool.answerPolling?.outstanding, 2);
  await done;
  assert.equal(pool.answerPolling?.outstanding, 0);
  await pool.close();
});

test('the TypeScript SDK says how long it polls in ready, as the Python SDK does; 0 says nothing', async (t) => {
  for (const [spinUs, pollUs] of [['250', 250], ['0', undefined]] as const) {
    const worker = startWorker(new AnswerPolling(100), () => {}, () => {}, spinUs, ['node', path.join(root, 'examples', 'noop', 'noop-worker.mjs')]);
    t.after(() => worker.kill());
    await worker.start();
    assert.equal(worker.ready?.poll_us, pollUs);
    await worker.stop();
  }
});
