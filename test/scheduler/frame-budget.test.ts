// A batch frame is at most 256 MiB (docs/protocol.md §2). An input larger than that alone fails
// at once (GPUPOOL_E_INPUT_TOO_LARGE) and the others run; before, sending it threw inside the
// scheduler and a run hung for ever. Batches of large items are cut so that their frame fits.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newWorkItem, type ItemFailure } from '../../src/scheduler/index.js';
import { handScheduler } from './hand-target.js';

test('an input over what a frame can carry fails alone at once, saying its size and what to do; the inputs around it are sent', () => {
  const failed: [unknown, ItemFailure][] = [];
  const { scheduler, a, b } = handScheduler(8, 2, ['cuda:0', 'cuda:1'], 3, { done: () => {}, failed: (item, f) => failed.push([item.id, f]) });
  const huge = `"${'€'.repeat(90_000_000)}"`; // 90 M code units, 270 MB of UTF-8
  scheduler.push(newWorkItem(0, 1, '{"n":1}'));
  scheduler.push(newWorkItem(1, 2, huge));
  scheduler.push(newWorkItem(2, 3, '{"n":3}'));
  scheduler.endInput();
  assert.equal(failed.length, 1);
  const [id, f] = failed[0];
  assert.equal(id, 2);
  assert.equal(f.code, 'GPUPOOL_E_INPUT_TOO_LARGE');
  assert.match(f.message, /^input of 270000002 bytes of JSON is over the 267386880 bytes a batch frame can carry \(docs\/protocol\.md §2\): give the worker a path to the data instead$/);
  assert.deepEqual([...a.batches, ...b.batches].flatMap((batch) => batch.items.map((item) => item.id)), [1, 3]);
  assert.equal(scheduler.pending, 2);
});

test('an input just under the limit is sent; large inputs go as many to a batch as a frame can carry', () => {
  const { scheduler, a } = handScheduler(8, 4, ['cuda:0']);
  // ASCII: a code unit is a byte, but the batch is cut by the bound of 3 bytes a code unit.
  const big = (n: number) => newWorkItem(n, n, `"${'x'.repeat(30_000_000)}"`);
  for (let i = 0; i < 5; i++) scheduler.push(big(i));
  scheduler.endInput();
  assert.deepEqual(a.batches.map((batch) => batch.size), [2, 2, 1]);
  const { scheduler: s2, a: a2 } = handScheduler(8, 4, ['cuda:0']);
  s2.push(newWorkItem(0, 0, `"${'x'.repeat(200_000_000)}"`)); // 200 MB: over the bound, under the limit once counted
  s2.endInput();
  assert.deepEqual(a2.batches.map((batch) => batch.size), [1]);
});
