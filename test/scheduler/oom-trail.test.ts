// What an item's out-of-memory failures say about the ceiling they lowered: a failure at a size
// proven lately is news (forgiven once the item fits), one above it a probe (kept).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdaptiveBatchLimit } from '../../src/scheduler/index.js';
import { OomTrail } from '../../src/scheduler/oom-trail.js';
import { HandTarget } from './hand-target.js';

test('an item that failed at a size above the proven one and then below it: the ceiling it leaves is the smallest failure above', () => {
  const limit = new AdaptiveBatchLimit({ max: 8, growAfter: 8 });
  limit.onOutOfMemory(8); // 4, ceiling 7
  for (let i = 0; i < 16; i++) limit.onSuccess(limit.value); // 5 after 8 at 4
  for (let i = 0; i < 8; i++) limit.onSuccess(5);
  limit.onSuccess(6); // grown to 6: one success there
  const target = new HandTarget('a', 'cuda:0', limit);
  const trail = new OomTrail(new Map([[limit, limit.mark()]]));
  const mark = trail.failedOn(target, 6); // a probe's size: it fitted once
  assert.equal(mark.proven, 5);
  limit.onOutOfMemory(6);
  trail.failedOn(target, 3); // its half, far below what fitted again and again
  limit.onOutOfMemory(3);
  const [taken] = trail.takeLowered(false);
  assert.deepEqual({ target: taken.target.id, unproven: taken.unproven }, { target: 'a', unproven: 6 });
  limit.forgiveCeiling(taken.mark, taken.unproven);
  for (let i = 0; i < 100; i++) limit.onSuccess(limit.value);
  assert.equal(limit.value, 5, 'grown back to 5: the failure at 3 is forgiven, the one at 6 kept');
  assert.deepEqual(trail.takeLowered(false), [], 'taken once');
});
