import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { DEFAULT_SPIN_US, IdleSpin, spinMicros } from '../../src/sdk/idle-spin.js';

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

test('an idle spin keeps the event loop turning for its time, then stops; work under way stops it at once; 0 never starts', async () => {
  const seen: number[] = [];
  const spin = new IdleSpin(20_000, () => {
    seen.push(performance.now());
    return false;
  });
  const t0 = performance.now();
  spin.start();
  await sleep(60);
  const calls = seen.length;
  assert.ok(calls > 1, `only ${calls} turns`);
  // (The last turn reads the clock once more after noting its time: allow it that instant.)
  assert.ok(seen[calls - 1] - t0 >= 19.5, `the last turn came ${seen[calls - 1] - t0} ms after the start, before the 20 ms were up`);
  await sleep(30);
  assert.equal(seen.length, calls, 'it went on turning after its time');

  let busyCalls = 0;
  new IdleSpin(20_000, () => ++busyCalls > 0).start();
  await sleep(40);
  assert.equal(busyCalls, 1);

  let offCalls = 0;
  new IdleSpin(0, () => ++offCalls > 0 && false).start();
  await sleep(5);
  assert.equal(offCalls, 0);
});
