import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ItemQueue } from '../../src/scheduler/item-queue.js';

/** A plain-array model of the queue: what every operation must match. */
function check(seed: number, steps: number): void {
  let state = seed;
  const random = () => {
    state = (state * 1103515245 + 12345) >>> 0;
    return state / 2 ** 32;
  };
  const q = new ItemQueue<number>();
  let model: number[] = [];
  let next = 0;
  for (let step = 0; step < steps; step++) {
    const r = random();
    if (r < 0.45) {
      // Bursts so the ring grows past 1024 slots and later shrinks back.
      const n = 1 + Math.floor(random() * (random() < 0.05 ? 3000 : 4));
      for (let i = 0; i < n; i++) {
        q.push(next);
        model.push(next++);
      }
    } else if (r < 0.9) {
      const n = 1 + Math.floor(random() * (random() < 0.05 ? 3000 : 4));
      for (let i = 0; i < n; i++) assert.equal(q.shift(), model.shift(), `step ${step}`);
    } else if (r < 0.98) {
      const back = Array.from({ length: Math.floor(random() * 40) }, () => next++);
      q.unshiftAll(back);
      model = [...back, ...model];
    } else {
      assert.deepEqual(q.drain(), model);
      model = [];
    }
    assert.equal(q.length, model.length);
    assert.equal(q.peek(), model[0]);
  }
  assert.deepEqual(q.drain(), model);
}

test('matches a plain array through wrap-around, growth, shrinking, retries at the front and drains', () => {
  for (let seed = 1; seed <= 20; seed++) check(seed, 3000);
});

test('an empty queue: shift and peek give undefined, drain gives []', () => {
  const q = new ItemQueue<string>();
  assert.equal(q.shift(), undefined);
  assert.equal(q.peek(), undefined);
  assert.deepEqual(q.drain(), []);
  q.unshiftAll([]);
  assert.equal(q.length, 0);
});

test('retries put back at the front come out first, in their order, even when they outnumber the free slots', () => {
  const q = new ItemQueue<string>();
  for (const s of ['c', 'd']) q.push(s);
  q.unshiftAll(Array.from({ length: 100 }, (_, i) => `r${i}`));
  const out = q.drain();
  assert.equal(out.length, 102);
  assert.deepEqual(out.slice(0, 3), ['r0', 'r1', 'r2']);
  assert.deepEqual(out.slice(-3), ['r99', 'c', 'd']);
});

test('at(i) reads the item i places from the front, across the ring\'s wrap, and undefined past the end', () => {
  const q = new ItemQueue<number>();
  for (let i = 0; i < 12; i++) q.push(i);
  for (let i = 0; i < 10; i++) q.shift(); // the head is near the end of the 16 slots
  for (let i = 12; i < 20; i++) q.push(i); // these wrap to the front
  assert.deepEqual([q.at(0), q.at(1), q.at(2), q.at(9)], [10, 11, 12, 19]);
  assert.equal(q.at(10), undefined);
});
