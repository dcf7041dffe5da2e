import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdaptiveBatchLimit } from '../../src/scheduler/index.js';

/** Drives a limit against a device that fails every batch above `threshold` items. */
function settle(limit: AdaptiveBatchLimit, threshold: number, batches: number): number[] {
  const seen: number[] = [];
  for (let i = 0; i < batches; i++) {
    const size = limit.value;
    if (size > threshold) limit.onOutOfMemory(size);
    else limit.onSuccess(size);
    seen.push(limit.value);
  }
  return seen;
}

test('starts at batch.max, or at a learned limit', () => {
  assert.equal(new AdaptiveBatchLimit({ max: 64 }).value, 64);
  assert.equal(new AdaptiveBatchLimit({ max: 64, initial: 12 }).value, 12);
  assert.equal(new AdaptiveBatchLimit({ max: 64, initial: 500 }).value, 64);
});

test('halves on out-of-memory', () => {
  const l = new AdaptiveBatchLimit({ max: 256 });
  assert.equal(l.onOutOfMemory(256), 128);
  assert.equal(l.onOutOfMemory(128), 64);
  assert.equal(l.ooms, 2);
});

for (const threshold of [1, 7, 40, 100, 255]) {
  test(`settles within one halving below a threshold of ${threshold} and stops failing`, () => {
    const l = new AdaptiveBatchLimit({ max: 256, forgetFailureAfter: Infinity });
    settle(l, threshold, 2000);
    const oomsAfterSettling = l.ooms;
    const tail = settle(l, threshold, 1000);
    assert.ok(l.value <= threshold, `limit ${l.value} above threshold ${threshold}`);
    assert.ok(l.value >= Math.floor(threshold / 2), `limit ${l.value} more than one halving below ${threshold}`);
    assert.equal(l.ooms, oomsAfterSettling, 'kept hitting out-of-memory after settling');
    assert.ok(tail.every((v) => v === tail[0]));
  });
}

test('grows back after sustained success, not before', () => {
  const l = new AdaptiveBatchLimit({ max: 64, growAfter: 8 });
  l.onOutOfMemory(64); // 32, ceiling below 64
  for (let i = 0; i < 7; i++) l.onSuccess(32);
  assert.equal(l.value, 32);
  l.onSuccess(32);
  assert.ok(l.value > 32 && l.value < 64);
});

test('does not grow while the device has no room', () => {
  const l = new AdaptiveBatchLimit({ max: 64, initial: 16, growAfter: 2 });
  for (let i = 0; i < 50; i++) l.onSuccess(16, false);
  assert.equal(l.value, 16);
  for (let i = 0; i < 50; i++) l.onSuccess(l.value, true);
  assert.equal(l.value, 64);
});

test('after long stability it probes above the failed size again, once, then settles back', () => {
  const l = new AdaptiveBatchLimit({ max: 256, forgetFailureAfter: 500 });
  settle(l, 40, 1000);
  const before = l.ooms;
  const tail = settle(l, 40, 500);
  assert.ok(l.ooms - before <= 1, `${l.ooms - before} probes in 500 batches`);
  assert.ok(tail.filter((v) => v < 20).length === 0);
});

test('a batch of one out of memory is counted and teaches nothing: the limit neither drops nor stops growing', () => {
  const l = new AdaptiveBatchLimit({ max: 64, growAfter: 2 });
  assert.equal(l.onOutOfMemory(64), 32);
  assert.equal(l.onOutOfMemory(1), 32);
  assert.equal(l.ooms, 2);
  for (let i = 0; i < 2; i++) l.onSuccess(32);
  assert.ok(l.value > 32, `limit ${l.value} did not grow after a failure of one item alone`);
});

test('forgive goes back to what was known before the failures of one item', () => {
  const l = new AdaptiveBatchLimit({ max: 64, growAfter: 2 });
  for (let i = 0; i < 4; i++) l.onSuccess(64);
  const mark = l.mark();
  l.onOutOfMemory(64);
  l.onOutOfMemory(32);
  l.onOutOfMemory(16);
  assert.equal(l.value, 8);
  assert.equal(l.forgive(mark), 64);
  // The ceiling is gone with it: no growth stops below 64, and it stays there.
  for (let i = 0; i < 10; i++) l.onSuccess(64);
  assert.equal(l.value, 64);
});

test('forgiveCeiling: after failures only at sizes that had fitted again and again, the ceiling goes back and the limit grows back to it; a size that fails again is then kept', () => {
  const l = new AdaptiveBatchLimit({ max: 8, growAfter: 2 });
  l.onOutOfMemory(8); // 4, ceiling 7
  for (let i = 0; i < 70; i++) l.onSuccess(l.value); // grown to 7, then 7 for long past the last 64 batches
  assert.equal(l.value, 7);
  const mark = l.mark();
  assert.equal(mark.proven, 7);
  l.onOutOfMemory(7); // a heavy page in a batch of 7: 3, ceiling 6
  l.onOutOfMemory(3); // and in the half holding it: 1, ceiling 2
  l.forgiveCeiling(mark, Infinity); // it fitted in a smaller batch, and failed at no size above what was proven
  assert.equal(l.value, 1, 'the level is not taken back: growing back probes whether the size fits');
  for (let i = 0; i < 40; i++) l.onSuccess(l.value);
  assert.equal(l.value, 7, 'grown back to the ceiling it had');
  // 7 fails again (the size, after all): the failures at 7 are among the recent batches, so 7
  // is not proven, and this one is kept once its items fit.
  const again = l.mark();
  assert.ok(again.proven < 7, `proven ${again.proven}`);
  l.onOutOfMemory(7);
  l.forgiveCeiling(again, 7);
  for (let i = 0; i < 80; i++) l.onSuccess(l.value);
  assert.equal(l.value, 6, 'the failure at 7 kept');
});

test('forgiveCeiling keeps a failure above the size proven: a growth probe, or a size that also failed lately', () => {
  const growing = new AdaptiveBatchLimit({ max: 8, growAfter: 8 });
  growing.onOutOfMemory(8); // 4, ceiling 7
  for (let i = 0; i < 8; i++) growing.onSuccess(4); // grows to 5
  assert.equal(growing.value, 5);
  growing.onSuccess(5);
  const atFive = growing.mark();
  assert.equal(atFive.proven, 4, 'one success of 5: 4 is what fitted again and again');
  growing.onOutOfMemory(5); // 2, ceiling 4
  growing.forgiveCeiling(atFive, 5); // its failure at 5 was above what was proven
  for (let i = 0; i < 80; i++) growing.onSuccess(growing.value);
  assert.equal(growing.value, 4, 'the failure at 5 is kept');

  // 6 fitted often, and failed too (two workers of a card at 6: the second fails beside the first's cache).
  const shared = new AdaptiveBatchLimit({ max: 8, growAfter: 2 });
  for (let i = 0; i < 20; i++) shared.onSuccess(6);
  shared.onOutOfMemory(6);
  for (let i = 0; i < 20; i++) shared.onSuccess(shared.value);
  const again = shared.mark();
  assert.equal(again.proven, 5, 'the failure at 6, among the last 64 batches, leaves 5 proven at most');
  for (let i = 0; i < 64; i++) shared.onSuccess(5);
  assert.equal(shared.mark().proven, 5, 'and 64 batches later, 5 is what fitted');
});

test('a ceiling is forgotten after a long quiet even with heavy pages throughout: failures taken back by forgiveCeiling do not restart the quiet', () => {
  // Two workers share a card; at the start a batch of 5 failed beside a neighbour's stale cache
  // (5 fits): the ceiling is 4. Then a heavy page every 100 batches is bisected (failures at 4
  // and 2, sizes proven) and fits alone, and forgiveCeiling gives its ceiling back.
  const l = new AdaptiveBatchLimit({ max: 5, growAfter: 2, forgetFailureAfter: 500 });
  for (let i = 0; i < 10; i++) l.onSuccess(l.value);
  l.onOutOfMemory(5);
  for (let i = 0; i < 64; i++) l.onSuccess(l.value);
  const pageEvery = 100;
  let batches = 0;
  for (let i = 0; i < 2_000 / pageEvery && l.value < 5; i++) {
    const mark = l.mark();
    assert.equal(mark.proven, 4);
    l.onOutOfMemory(4);
    l.onOutOfMemory(2);
    l.forgiveCeiling(mark, Infinity, 2);
    for (let j = 0; j < pageEvery; j++, batches++) l.onSuccess(l.value);
  }
  assert.equal(l.value, 5, `the ceiling of 4 set at the start was not forgotten in ${batches} batches`);
  assert.ok(batches <= 700, `forgotten after ${batches} batches: about 500 of quiet, not counted from the last page`);
});

/** batch.max 8, a failure at 8 (ceiling 7), grown back to 7 and 450 batches into the 500 that forget the ceiling. */
function ceilingOfSevenInItsQuiet(): AdaptiveBatchLimit {
  const l = new AdaptiveBatchLimit({ max: 8, growAfter: 2, forgetFailureAfter: 500 });
  l.onOutOfMemory(8);
  for (let i = 0; i < 450; i++) l.onSuccess(l.value);
  assert.equal(l.value, 7);
  return l;
}

test('a failure of size kept by forgiveCeiling (above the size proven) restarts the quiet', () => {
  const l = ceilingOfSevenInItsQuiet();
  // A probe of a card newly shared: 7 had fitted, yet fails now and is the size's (unproven 7).
  const mark = l.mark();
  l.onOutOfMemory(7);
  l.forgiveCeiling(mark, 7, 3);
  for (let i = 0; i < 450; i++) l.onSuccess(l.value);
  assert.equal(l.value, 6, 'the ceiling of 6 is 450 batches old, short of the 500 that forget it');
  for (let i = 0; i < 100; i++) l.onSuccess(l.value);
  assert.equal(l.value, 8, 'forgotten 500 batches after the failure kept: the probes up to batch.max fit');
});

test("a mark made before the ceiling was forgotten does not take back the quiet of a failure since: the probe's failure is kept for a whole quiet", () => {
  // An item failed first on another device: every limit was marked then, this one (ceiling 6,
  // quiet nearly over) too. Its quiet ends, the limit probes 6 again and fails there (kept, as a
  // growth probe is); then the item fails here and fits in a smaller batch.
  for (const takeBack of ['forgiveCeiling', 'forgive'] as const) {
    const l = new AdaptiveBatchLimit({ max: 8, growAfter: 2, forgetFailureAfter: 500 });
    l.onOutOfMemory(6);
    for (let i = 0; i < 499; i++) l.onSuccess(l.value);
    assert.equal(l.value, 5);
    const itemMark = l.mark();
    l.onSuccess(l.value); // the ceiling of 6 is forgotten
    while (l.value < 6) l.onSuccess(l.value);
    const probeMark = l.mark();
    l.onOutOfMemory(6);
    l.forgiveCeiling(probeMark, 6, 6); // above the size proven: kept
    l.onOutOfMemory(3);
    if (takeBack === 'forgive') l.forgive(itemMark);
    else l.forgiveCeiling(itemMark, Infinity, 3);
    for (let i = 0; i < 400; i++) l.onSuccess(l.value);
    assert.equal(l.value, 5, `${takeBack}: the ceiling of 6 the probe found is 400 batches old, short of the 500 that forget it`);
  }
});

test("forgive (one item's failures, on a device of its own) takes back their restart of the quiet too", () => {
  const l = ceilingOfSevenInItsQuiet();
  const mark = l.mark();
  l.onOutOfMemory(7); // one page's bisection
  l.onOutOfMemory(3);
  l.forgive(mark);
  for (let i = 0; i < 60; i++) l.onSuccess(l.value);
  assert.equal(l.value, 8, 'the ceiling of 7 is forgotten 500 batches after its failure, the page\'s not counted');
});
