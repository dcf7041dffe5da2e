import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { CpuProvider, readCgroupLimits } from '../../src/devices/index.js';

const GiB = 1024 ** 3;

/** A cgroup file system in a temp folder: `files` maps paths under it to contents; returns the root and a /proc/self/cgroup. */
function cgroupTree(self: string, files: Record<string, string>): { root: string; self: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gpupool-cgroup-'));
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  }
  fs.writeFileSync(path.join(root, 'self-cgroup'), self);
  return { root, self: path.join(root, 'self-cgroup') };
}

/** cgroup v2 as docker --memory 16g --cpus 4 under a slice limited to 8 GiB makes it. */
const dockerV2 = () =>
  cgroupTree('0::/system.slice/docker-abc.scope\n', {
    'cgroup.controllers': 'cpu memory\n',
    'system.slice/memory.max': `${8 * GiB}\n`,
    'system.slice/cpu.max': 'max 100000\n',
    'system.slice/docker-abc.scope/memory.max': `${16 * GiB}\n`,
    'system.slice/docker-abc.scope/memory.current': `${4 * GiB}\n`,
    'system.slice/docker-abc.scope/memory.stat': `anon ${2 * GiB}\nfile ${2 * GiB}\ninactive_file ${GiB}\nactive_file ${GiB}\n`,
    'system.slice/docker-abc.scope/cpu.max': '400000 100000\n',
    'system.slice/docker-abc.scope/cpu.stat': 'usage_usec 5000000\nuser_usec 4000000\nsystem_usec 1000000\n',
  });

test('cgroup v2: the smallest memory limit on the path up, usage less inactive file cache, the CPU quota in cores, CPU time used', () => {
  const t = dockerV2();
  assert.deepEqual(readCgroupLimits(t), { memoryMax: 8 * GiB, memoryUsed: 3 * GiB, cpuQuota: 4, cpuUsageMs: 5000 });
});

test('cgroup v2 in its own namespace ("0::/"), no limits set: usage only', () => {
  const t = cgroupTree('0::/\n', {
    'cgroup.controllers': 'cpu memory\n',
    'memory.max': 'max\n',
    'memory.current': `${GiB}\n`,
    'cpu.max': 'max 100000\n',
    'cpu.stat': 'usage_usec 1500\n',
  });
  assert.deepEqual(readCgroupLimits(t), { memoryUsed: GiB, cpuUsageMs: 1.5 });
});

test('cgroup v1: limits under each controller\'s mount; a host path the container\'s mount lacks means the mount is ours; 2^63 is no limit', () => {
  const limited = cgroupTree('12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n', {
    'memory/memory.limit_in_bytes': `${2 * GiB}\n`,
    'memory/memory.usage_in_bytes': `${GiB}\n`,
    'memory/memory.stat': `cache 1\ntotal_inactive_file ${GiB / 2}\n`,
    'cpu/cpu.cfs_quota_us': '150000\n',
    'cpu/cpu.cfs_period_us': '100000\n',
    'cpuacct/cpuacct.usage': '2500000000\n',
  });
  assert.deepEqual(readCgroupLimits(limited), { memoryMax: 2 * GiB, memoryUsed: GiB / 2, cpuQuota: 1.5, cpuUsageMs: 2500 });
  // This dev VM's shape: a memory cgroup with no limit, no CPU quota.
  const unlimited = cgroupTree('4:memory:/process_api/x\n2:cpuacct:/\n1:cpu:/\n', {
    'memory/process_api/x/memory.limit_in_bytes': '9223372036854771712\n',
    'memory/process_api/x/memory.usage_in_bytes': '1810124800\n',
    'cpu/cpu.cfs_quota_us': '-1\n',
    'cpu/cpu.cfs_period_us': '100000\n',
    'cpuacct/cpuacct.usage': '1000000\n',
  });
  assert.deepEqual(readCgroupLimits(unlimited), { memoryUsed: 1810124800, cpuUsageMs: 1 });
});

test('no cgroup file system, or an unreadable /proc/self/cgroup: nothing, and no error', () => {
  assert.deepEqual(readCgroupLimits({ root: '/nonexistent', self: '/nonexistent/cgroup' }), {});
  // This machine's own: whatever it is, it reads without throwing, and a limit is a positive number.
  const own = readCgroupLimits();
  for (const v of Object.values(own)) assert.ok(typeof v === 'number' && v >= 0, JSON.stringify(own));
});

test('the CPU device inside a limited cgroup: its memory is the limit, its utilisation the share of the CPU quota used', async () => {
  const t = dockerV2();
  const cpu = new CpuProvider(t);
  const [device] = await cpu.list();
  assert.equal(device.memoryTotal, Math.min(os.totalmem(), 8 * GiB));
  const [idle] = await cpu.sample();
  const total = Math.min(os.totalmem(), 8 * GiB);
  // Free: the cgroup's room (8 - 3 GiB), or less where the host itself has less left.
  const expectedFree = Math.min(total - 3 * GiB, os.freemem());
  assert.ok(Math.abs(idle.memoryFree - expectedFree) < 256 * 1024 ** 2, `free ${idle.memoryFree}, expected about ${expectedFree}`);
  assert.equal(idle.memoryUsed, total - idle.memoryFree);
  assert.equal(idle.utilization, 0, 'no CPU time used since the provider opened');
  // Ten hours of CPU time in the window: far more than 4 cores give, so all of the quota.
  fs.writeFileSync(path.join(t.root, 'system.slice/docker-abc.scope/cpu.stat'), `usage_usec ${5_000_000 + 36_000_000_000}\n`);
  const [busy] = await cpu.sample();
  assert.equal(busy.utilization, 100);
});
