// An item that must run alone (isolated after failed batches, or needing its device whole after
// an out-of-memory beside the other workers there) holds only the targets chosen to drain for
// it: the other devices take the work behind it. Before, every target waited until one drained.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newWorkItem } from '../../src/scheduler/index.js';
import { handScheduler, tick, type HandTarget } from './hand-target.js';

const ids = (t: HandTarget) => t.batches.flatMap((b) => b.items.map((item) => item.id));

test('an item that needs its device whole: the workers of another device go on taking work while those of its device drain for it', async () => {
  const { scheduler, targets } = handScheduler(1, 2, ['cuda:0', 'cuda:0', 'cuda:1', 'cuda:1']);
  const [a, b, c, d] = targets;
  for (let i = 0; i < 20; i++) scheduler.push(newWorkItem(i, i, `{"n":${i}}`));
  assert.deepEqual(targets.map((t) => t.inflightCount), [2, 2, 2, 2]);
  const heavy = a.batches[0].items[0];
  // Alone, out of memory beside b: retried with cuda:0 to itself (a and b drain: the least in flight).
  scheduler.onFailed(a.take(), 'oom', 'CUDA out of memory');
  assert.equal(heavy.needsDevice, true);
  assert.deepEqual([a.inflightCount, b.inflightCount], [1, 2], 'cuda:0 takes nothing new');
  // cuda:1 answers: it takes the next inputs at once, behind the item.
  scheduler.onResult(c.take(), [{}], undefined);
  scheduler.onResult(d.take(), [{}], undefined);
  assert.deepEqual([c.inflightCount, d.inflightCount], [2, 2], 'cuda:1 goes on');
  assert.ok(!ids(c).includes(heavy.id) && !ids(d).includes(heavy.id));
  // cuda:0 drains; b gives back its memory; then the item runs on a with b idle.
  for (const t of [a, b, b]) scheduler.onResult(t.take(), [{}], undefined);
  assert.equal(b.releases.length, 1, 'b asked to give back its cache');
  assert.deepEqual([a.inflightCount, b.inflightCount], [0, 0]);
  b.answerReleases();
  await tick();
  assert.deepEqual(ids(a), [heavy.id], 'alone on a');
  assert.equal(b.inflightCount, 0, 'b idle beside it');
  scheduler.onResult(c.take(), [{}], undefined);
  assert.equal(c.inflightCount, 2, 'cuda:1 still goes on meanwhile');
  // Answered: a gives back what it took, then cuda:0 takes work again.
  scheduler.onResult(a.take(), [{}], undefined);
  a.answerReleases();
  await tick();
  assert.deepEqual([a.inflightCount, b.inflightCount], [2, 2]);
});

test('an isolated item (in as many failed batches as attempts allow) waits for one worker only; the other takes the work behind it', () => {
  const { scheduler, a, b } = handScheduler(2, 2, ['cuda:0', 'cuda:1'], 1);
  for (let i = 0; i < 16; i++) scheduler.push(newWorkItem(i, i, `{"n":${i}}`));
  assert.deepEqual([a.inflightCount, b.inflightCount], [2, 2]);
  const failed = a.take();
  const suspects = failed.items.map((item) => item.id);
  scheduler.onFailed(failed, 'fatal', 'worker crashed');
  assert.ok(failed.items.every((item) => item.isolated));
  // a (one batch in flight) is chosen to drain; b answers and takes inputs from behind them.
  assert.equal(a.inflightCount, 1);
  scheduler.onResult(b.take(), [{}, {}], undefined);
  assert.equal(b.inflightCount, 2);
  assert.ok(!ids(b).some((id) => suspects.includes(id)), 'b takes neither suspect');
  assert.equal(a.inflightCount, 1, 'a takes nothing new while it drains');
  // a drains: the first suspect runs there alone.
  scheduler.onResult(a.take(), [{}, {}], undefined);
  assert.deepEqual(ids(a), [suspects[0]]);
});

test('with one device, all its workers wait for an item that needs it whole, as before', () => {
  const { scheduler, a, b } = handScheduler(1, 2);
  for (let i = 0; i < 10; i++) scheduler.push(newWorkItem(i, i, `{"n":${i}}`));
  scheduler.onFailed(a.take(), 'oom', 'CUDA out of memory');
  scheduler.onResult(b.take(), [{}], undefined);
  assert.deepEqual([a.inflightCount, b.inflightCount], [1, 1], 'neither takes new work');
});
