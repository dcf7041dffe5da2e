import assert from 'node:assert/strict';
import os from 'node:os';
import { test } from 'node:test';
import { busyPercent, CpuProvider, readCpuTimes } from '../../src/devices/index.js';

/** One core's `os.cpus()` times, in ms since boot. */
function core(user: number, sys: number, idle: number) {
  return { times: { user, nice: 0, sys, idle, irq: 0 } };
}

test('CPU utilisation is the busy share of the CPU time between two samples, not the load average', () => {
  // Recorded on a 2-core host right after a burst: one-minute load 2.3 (the old reading, load
  // over cores, said 100 %), while over this second the cores were busy 40 and 20 ms of 1000 each.
  const before = readCpuTimes([core(500_000, 100_000, 9_000_000), core(400_000, 90_000, 9_100_000)]);
  const after = readCpuTimes([core(500_030, 100_010, 9_000_960), core(400_015, 90_005, 9_100_980)]);
  assert.equal(busyPercent(before, after), 3);
  // Every core busy the whole window; and no window at all.
  const busy = readCpuTimes([core(501_000, 100_000, 9_000_000), core(400_500, 90_500, 9_100_000)]);
  assert.equal(busyPercent(before, busy), 100);
  assert.equal(busyPercent(before, before), undefined);
});

test('the CPU provider measures busy time since its last sample: a core spun between two samples shows, within 0..100', async () => {
  const cpu = new CpuProvider();
  await cpu.sample();
  const until = performance.now() + 600;
  while (performance.now() < until) {
    // Busy on one core: whatever else the host runs, its share of every core's time is at least this one's.
  }
  const [sample] = await cpu.sample();
  const cores = os.cpus().length;
  assert.ok(sample.utilization !== undefined, 'no utilisation');
  assert.ok(sample.utilization >= Math.floor(50 / cores) && sample.utilization <= 100, `utilisation ${sample.utilization} with one of ${cores} cores spun`);
  // Right after: the provider waits for a window long enough to measure rather than reading nothing.
  const [next] = await cpu.sample();
  assert.ok(next.utilization !== undefined && next.utilization >= 0 && next.utilization <= 100, `utilisation ${next.utilization}`);
});
