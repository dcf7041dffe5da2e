import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OpenChunks } from '../../src/cluster/open-chunks.js';

test('a waiter for an empty window is not woken by a chunk that goes back split', async () => {
  const open = new OpenChunks();
  open.add('c1', [0, 1, 2, 3]);
  let emptied = false;
  const empty = open.empty().then(() => (emptied = true));
  open.replace('c1', [['c1.0', [0, 1]], ['c1.1', [2, 3]]]);
  await new Promise((r) => setImmediate(r));
  assert.equal(emptied, false);
  assert.deepEqual(open.ids(), ['c1.0', 'c1.1']);
  assert.ok(open.holds(2));
  open.close('c1.0');
  open.close('c1.1');
  await empty;
  assert.equal(open.holds(2), false);
});

test('room() waits while the window is full and follows the window as it grows', async () => {
  const open = new OpenChunks();
  let window = 2;
  open.add('a', [0]);
  open.add('b', [1]);
  let roomy = false;
  const room = open.room(() => window).then(() => (roomy = true));
  open.wake();
  await new Promise((r) => setImmediate(r));
  assert.equal(roomy, false);
  window = 3;
  open.wake();
  await room;
  assert.equal(open.close('zzz'), false, 'closing an unknown chunk is a no-op');
});

test('a drain ends a wait for room, not a wait for the chunks out to be answered', async () => {
  const open = new OpenChunks();
  open.add('a', [0]);
  let emptied = false;
  const empty = open.empty().then(() => (emptied = true));
  open.stopWaitingForRoom();
  await new Promise((r) => setImmediate(r));
  assert.equal(emptied, false);
  open.close('a');
  await empty;
  const room = open.room(() => 0);
  open.stopWaitingForRoom();
  await room;
});
