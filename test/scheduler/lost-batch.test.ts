import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchSchema } from '../../src/config/index.js';
import { AdaptiveBatchLimit, ModelScheduler, newWorkItem, type Batch, type DispatchTarget, type ItemFailure } from '../../src/scheduler/index.js';

/** A target that holds what it is sent until the test answers. */
class HeldTarget implements DispatchTarget {
  readonly id = 't0';
  readonly deviceKey = 'cpu:0';
  readonly limit = new AdaptiveBatchLimit({ max: 8 });
  readonly maxInflight = 2;
  readonly sent: Batch[] = [];
  inflightCount = 0;
  acceptsWork(): boolean {
    return true;
  }
  send(batch: Batch): boolean {
    this.inflightCount++;
    this.sent.push(batch);
    return true;
  }
}

test('a batch of one lost with its worker is isolated and retried, not failed: a neighbour batch may have killed the worker', async () => {
  const done: unknown[] = [];
  const failed: ItemFailure[] = [];
  const scheduler = new ModelScheduler({
    model: 'm',
    batch: batchSchema.parse({ max: 8, timeout: 1 }),
    maxAttempts: 1,
    sink: { done: (_item, output) => done.push(output), failed: (_item, f) => failed.push(f) },
  });
  const target = new HeldTarget();
  scheduler.addTarget(target);
  scheduler.push(newWorkItem(0, 1, '"innocent"'));
  scheduler.endInput();
  assert.equal(target.sent.length, 1);
  const [first] = target.sent;
  assert.equal(first.items.length, 1);

  // The worker died holding it (its other batch was a poison's): not this item's fault.
  target.inflightCount = 0;
  scheduler.onLost([first], { code: 'GPUPOOL_E_WORKER_CRASHED', message: 'worker exited with code 70' });
  assert.equal(failed.length, 0, 'failed without ever having the worker to itself');
  assert.equal(target.sent.length, 2, 'retried');
  const again = target.sent[1];
  assert.ok(again.items[0].isolated, 'retried alone, with the worker to itself');

  // Lost again while isolated: now it is to blame.
  target.inflightCount = 0;
  scheduler.onLost([again], { code: 'GPUPOOL_E_WORKER_CRASHED', message: 'worker exited with code 3' });
  assert.equal(failed.length, 1);
  assert.match(failed[0].message, /code 3/);
  await scheduler.whenIdle();
  assert.deepEqual(done, []);
});

test('a batch of one that the worker itself answers failed is failed at max_attempts', async () => {
  const failed: ItemFailure[] = [];
  const scheduler = new ModelScheduler({
    model: 'm',
    batch: batchSchema.parse({ max: 8, timeout: 1 }),
    maxAttempts: 1,
    sink: { done: () => assert.fail('not done'), failed: (_item, f) => failed.push(f) },
  });
  const target = new HeldTarget();
  scheduler.addTarget(target);
  scheduler.push(newWorkItem(0, 1, '"poison"'));
  scheduler.endInput();
  target.inflightCount = 0;
  scheduler.onFailed(target.sent[0], 'batch', 'ValueError: bad input');
  assert.equal(failed.length, 1, 'its own answer: to blame at once');
  await scheduler.whenIdle();
});
