// A batch far heavier in device memory than its worker's usual (`batch_memory` in the answer: a
// page among small items) is followed by a release of that worker's cache, on a device other
// workers of the model share, once an item has run out of memory in the run. Before, only a batch
// holding an item that had failed asked for one, and a page that fitted the first time stayed
// cached: with a page every 50 items on a shared card, every page beside the other worker's
// cached page failed at any size, and the limit stayed at 1.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatchMemoryWatch } from '../../src/scheduler/batch-memory-watch.js';
import { newWorkItem } from '../../src/scheduler/index.js';
import { handScheduler, tick, type HandTarget } from './hand-target.js';

/** Judges a batch, then remembers it, as the scheduler does. */
function heavier(watch: BatchMemoryWatch, bytes: number, size: number, limit: number): boolean {
  const heavy = watch.heavy(bytes, size, limit);
  watch.record(bytes, size);
  return heavy;
}

test('a batch is heavy above 1.5 times what a batch of the limit usually takes, once 8 of about that size are known', () => {
  const watch = new BatchMemoryWatch();
  for (let k = 0; k < 7; k++) assert.equal(heavier(watch, 100 * 4, 4, 4), false);
  assert.equal(heavier(watch, 40_000, 4, 4), false, 'seven batches of about 4 known: no median yet');
  // Usual: 100 an item (the median leaves the one page out); a batch of the limit, 4, takes 400.
  assert.equal(heavier(watch, 600, 1, 4), false, '600 is 1.5 times 400, not above');
  assert.equal(heavier(watch, 601, 1, 4), true);
  assert.equal(heavier(watch, 601, 1, 8), false, 'the limit grew to 8: no batch of about 8 known yet');
  for (let k = 0; k < 8; k++) assert.equal(heavier(watch, 800, 8, 8), false);
  assert.equal(heavier(watch, 1300, 8, 8), true, 'a full batch with a page in it');
});

test('a batch\'s fixed cost: after the limit fell from 64 to 4, batches of 4 are judged against batches of about 4, not per item of 64', () => {
  // 10,000 bytes a batch besides 100 an item: per item, a batch of 64 takes 256, one of 4 2,600.
  const watch = new BatchMemoryWatch();
  const cost = (n: number) => 10_000 + 100 * n;
  for (let k = 0; k < 32; k++) heavier(watch, cost(64), 64, 64);
  for (let k = 0; k < 20; k++) assert.equal(heavier(watch, cost(4), 4, 4), false, `batch ${k} of 4`);
  assert.equal(heavier(watch, cost(4) + 60_000, 4, 4), true, 'a page among them still is');
});

test('full batches of usual items are never heavy as the limit grows; a worker whose batches allocate nothing tells none', () => {
  const watch = new BatchMemoryWatch();
  for (let limit = 1; limit <= 64; limit++) for (let k = 0; k < 10; k++) assert.equal(heavier(watch, 110 * limit, limit, limit), false, `limit ${limit}`);
  const idle = new BatchMemoryWatch();
  for (let k = 0; k < 20; k++) heavier(idle, 0, 4, 4);
  assert.equal(heavier(idle, 1_000_000, 4, 4), false);
});

/** Answers `t`'s oldest batch with an output per input, saying it took `perItem` bytes an item (`extra` more). */
function answer(scheduler: ReturnType<typeof handScheduler>['scheduler'], t: HandTarget, perItem: number | undefined, extra = 0): void {
  const batch = t.take();
  scheduler.onResult(batch, batch.items.map(() => ({})), undefined, perItem === undefined ? undefined : perItem * batch.size + extra);
}

/** Two workers (each `devices` entry), batch.max 2, 400 items queued; with `oom`, a batch of each item alone failed first (an out-of-memory seen in the run). */
async function started(devices: string[], oom: boolean) {
  const s = handScheduler(2, 2, devices);
  for (let i = 0; i < 400; i++) s.scheduler.push(newWorkItem(i, i, `{"n":${i}}`));
  if (oom) {
    s.scheduler.onFailed(s.a.take(), 'oom', 'CUDA out of memory'); // 2 items fail: the limit falls to 1
    s.b.answerReleases();
    s.a.answerReleases();
    await tick();
  }
  for (let k = 0; k < 20; k++) for (const t of [s.a, s.b]) if (t.batches.length > 0) answer(s.scheduler, t, 1000);
  await tick();
  assert.deepEqual([s.a.releases.length, s.b.releases.length], [0, 0], 'usual batches ask for no release');
  return s;
}

test('a page that fits the first time, on a shared device after an out-of-memory: its worker gives back its cache before either takes anything new', async () => {
  const { scheduler, a, b } = await started(['cuda:0', 'cuda:0'], true);
  const sent = [a.batches.length, b.batches.length];
  answer(scheduler, a, 1000, 60_000); // a page of 60 times the usual item
  assert.deepEqual([a.releases.length, b.releases.length], [1, 0], 'its own worker asked');
  answer(scheduler, b, 1000);
  await tick();
  assert.deepEqual([a.batches.length, b.batches.length], [sent[0] - 1, sent[1] - 1], 'nothing new sent while it is cached');
  a.answerReleases();
  await tick();
  assert.deepEqual([a.batches.length, b.batches.length], [2, 2], 'both fed again once it is given back');
});

test('no release for a heavy batch before any out-of-memory, on a device of its own, or from a worker that does not measure', async () => {
  for (const [devices, oom, perItem] of [[['cuda:0', 'cuda:0'], false, 1000], [['cuda:0', 'cuda:1'], true, 1000], [['cuda:0', 'cuda:0'], true, undefined]] as const) {
    const { scheduler, a, b } = await started([...devices], oom);
    answer(scheduler, a, perItem, 60_000);
    await tick();
    assert.deepEqual([a.releases.length, b.releases.length], [0, 0], `${devices.join(',')}, out-of-memory: ${oom}, measured: ${perItem !== undefined}`);
  }
});
