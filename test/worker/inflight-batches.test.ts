import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InflightBatches } from '../../src/worker/inflight-batches.js';

test('answers in any order take their own batch; the rest stay in the order they were sent', () => {
  const held = new InflightBatches<string>();
  for (let id = 1; id <= 5; id++) held.add(id, `b${id}`);
  assert.equal(held.size, 5);
  assert.equal(held.take(1), 'b1');
  assert.equal(held.take(4), 'b4');
  assert.equal(held.size, 3);
  held.add(6, 'b6');
  assert.deepEqual(held.takeAll(), ['b2', 'b3', 'b5', 'b6']);
  assert.equal(held.size, 0);
});

test('an answer for a batch not held (unknown, or already answered) takes nothing', () => {
  const held = new InflightBatches<string>();
  held.add(7, 'b7');
  assert.equal(held.take(8), undefined);
  assert.equal(held.take(7), 'b7');
  assert.equal(held.take(7), undefined);
  assert.deepEqual(held.takeAll(), []);
});

test('heldIds lists the batches held, oldest first, as a copy', () => {
  const held = new InflightBatches<string>();
  for (let id = 1; id <= 3; id++) held.add(id, `b${id}`);
  held.take(2);
  const ids = held.heldIds();
  assert.deepEqual(ids, [1, 3]);
  ids.push(9);
  assert.deepEqual(held.heldIds(), [1, 3]);
});
