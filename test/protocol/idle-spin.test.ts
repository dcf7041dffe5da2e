import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_SPIN_US, IdleSpin, spinMicros } from '../../src/protocol/idle-spin.js';

test('GPUPOOL_SPIN_US: whole microseconds from 0 to 1000000, 100 when unset; anything else is refused naming the value', () => {
  assert.equal(spinMicros({}), DEFAULT_SPIN_US);
  assert.equal(spinMicros({ GPUPOOL_SPIN_US: '' }), 100);
  assert.equal(spinMicros({ GPUPOOL_SPIN_US: '0' }), 0);
  assert.equal(spinMicros({ GPUPOOL_SPIN_US: '250' }), 250);
  assert.equal(spinMicros({ GPUPOOL_SPIN_US: '1000000' }), 1_000_000);
  assert.equal(spinMicros({ GPUPOOL_SPIN_US: '000000042' }), 42); // leading zeros, as Python's int() reads them
  for (const bad of ['-1', '1.5', 'abc', ' 5', '1000001', '1e3', '99999999']) {
    assert.throws(() => spinMicros({ GPUPOOL_SPIN_US: bad }), new RegExp(`GPUPOOL_SPIN_US=${JSON.stringify(bad).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: expected whole microseconds from 0 \\(no polling\\) to 1000000`));
  }
});

/** Runs event-loop turns until `spin` stops polling (each await lets its immediates run). */
async function untilIdle(spin: IdleSpin): Promise<void> {
  while (spin.active) await new Promise((resolve) => setImmediate(resolve));
}

test('an idle spin keeps the event loop turning for its time, then stops; work under way stops it at once; 0 never starts', async () => {
  // A clock that moves 1 ms per turn: 20 ms of polling is exactly 20 turns, however loaded the machine.
  let clock = 0;
  let turns = 0;
  const spin = new IdleSpin(20_000, () => {
    turns++;
    clock += 1;
    return false;
  }, () => clock);
  spin.start();
  assert.equal(spin.active, true);
  await untilIdle(spin);
  assert.equal(turns, 20);
  // Started again while polling, it polls 20 ms from then.
  spin.start();
  clock += 15;
  spin.start();
  await untilIdle(spin);
  assert.equal(turns, 40);

  let busyTurns = 0;
  const busy = new IdleSpin(20_000, () => ++busyTurns > 0);
  busy.start();
  await untilIdle(busy);
  assert.equal(busyTurns, 1);

  let offTurns = 0;
  const off = new IdleSpin(0, () => ++offTurns > 0 && false);
  off.start();
  assert.equal(off.active, false);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(offTurns, 0);
});
