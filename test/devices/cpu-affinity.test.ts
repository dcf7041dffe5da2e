import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { formatCpuList, parseCpuList, planCpuAffinity, sysfsBusId, type Device } from '../../src/devices/index.js';
import { GpupoolError } from '../../src/errors/index.js';
import { tempDir } from '../helpers/cli.js';

function gpu(index: number, pciBusId?: string): Device {
  return { key: `cuda:${index}`, vendor: 'nvidia', index, uuid: `GPU-${index}`, name: 'H200', memoryTotal: 1, ...(pciBusId ? { pciBusId } : {}) };
}
const CPU: Device = { key: 'cpu:0', vendor: 'cpu', index: 0, uuid: 'cpu', name: 'cpu', memoryTotal: 1 };

/** A sysfs tree like a 2-socket host's: cards 0–1 near CPUs 0-15,32-47, cards 2–3 near 16-31,48-63. */
function sysfs(): string {
  const root = tempDir('gpupool-sysfs-');
  const nodes: Record<string, string> = { '0000:1b:00.0': '0-15,32-47\n', '0000:29:00.0': '0-15,32-47\n', '0000:9d:00.0': '16-31,48-63\n', '0000:bb:00.0': '16-31,48-63\n' };
  for (const [bus, list] of Object.entries(nodes)) {
    fs.mkdirSync(path.join(root, 'bus/pci/devices', bus), { recursive: true });
    fs.writeFileSync(path.join(root, 'bus/pci/devices', bus, 'local_cpulist'), list);
  }
  // 32 cores with two hyperthreads each, numbered apart as Linux does on such hosts: CPU c and c + 32.
  for (let cpu = 0; cpu < 64; cpu++) {
    const dir = path.join(root, 'devices/system/cpu', `cpu${cpu}`, 'topology');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'core_cpus_list'), `${cpu % 32},${(cpu % 32) + 32}\n`);
  }
  return root;
}
const ALL = parseCpuList('0-63')!;
// nvidia-smi's spelling: an 8-digit domain, upper case.
const CARDS = [gpu(0, '00000000:1B:00.0'), gpu(1, '00000000:29:00.0'), gpu(2, '00000000:9D:00.0'), gpu(3, '00000000:BB:00.0')];

test('cpulists parse and format as the kernel and taskset write them', () => {
  assert.deepEqual(parseCpuList('0-3,8,10-11\n'), [0, 1, 2, 3, 8, 10, 11]);
  assert.deepEqual(parseCpuList(''), []);
  assert.equal(parseCpuList('3-1'), undefined);
  assert.equal(parseCpuList('a,b'), undefined);
  assert.equal(formatCpuList([11, 0, 1, 2, 3, 8, 10]), '0-3,8,10-11');
});

test('one worker per card: each gets cores of its NUMA node, split with the other card there, whole cores, none shared', () => {
  const plan = planCpuAffinity(CARDS.map((d, i) => ({ id: `w${i}`, devices: [d] })), { sysRoot: sysfs(), allowed: ALL });
  // Not 0-15 and 32-47: those are the same 16 cores' two hyperthreads.
  assert.equal(formatCpuList(plan.cpus.get('w0')!), '0-7,32-39');
  assert.equal(formatCpuList(plan.cpus.get('w1')!), '8-15,40-47');
  assert.equal(formatCpuList(plan.cpus.get('w2')!), '16-23,48-55');
  assert.equal(formatCpuList(plan.cpus.get('w3')!), '24-31,56-63');
});

test('more workers than cores but not than CPUs: single CPUs', () => {
  const root = sysfs();
  const plan = planCpuAffinity([0, 1, 2].map((i) => ({ id: `w${i}`, devices: [CARDS[0]] })), { sysRoot: root, allowed: [0, 1, 32, 33] });
  assert.deepEqual([...plan.cpus.values()].map(formatCpuList), ['0', '1', '32-33']);
});

test('only CPUs this process may use are handed out (a container given a few cores)', () => {
  const plan = planCpuAffinity([{ id: 'a', devices: [CARDS[0]] }, { id: 'b', devices: [CARDS[2]] }], { sysRoot: sysfs(), allowed: parseCpuList('8-23')! });
  assert.equal(formatCpuList(plan.cpus.get('a')!), '8-15');
  assert.equal(formatCpuList(plan.cpus.get('b')!), '16-23');
  const c = planCpuAffinity([{ id: 'c', devices: [CARDS[0]] }, { id: 'd', devices: [CARDS[1]] }], { sysRoot: sysfs(), allowed: parseCpuList('8-23')! });
  assert.deepEqual([formatCpuList(c.cpus.get('c')!), formatCpuList(c.cpus.get('d')!)], ['8-11', '12-15']);
});

test('a worker spanning cards on both nodes gets both nodes; a card the kernel says nothing about is left unpinned, with the reason', () => {
  const plan = planCpuAffinity([{ id: 'split', devices: [CARDS[1], CARDS[2]] }, { id: 'unknown', devices: [gpu(7)] }], { sysRoot: sysfs(), allowed: ALL });
  assert.equal(formatCpuList(plan.cpus.get('split')!), '0-63');
  assert.equal(plan.cpus.has('unknown'), false);
  assert.deepEqual(plan.unpinned, [{ id: 'unknown', reason: 'the kernel does not say which CPUs are near cuda:7 (no PCI bus id)' }]);
});

test('overlapping groups share no CPU: a one-card worker, a two-node worker and a CPU worker', () => {
  const plan = planCpuAffinity(
    [
      { id: 'one', devices: [CARDS[0]] },
      { id: 'both', devices: [CARDS[0], CARDS[2]] },
      { id: 'cpu', devices: [CPU] },
    ],
    { sysRoot: sysfs(), allowed: ALL },
  );
  const shares = [...plan.cpus.values()];
  assert.equal(shares.length, 3);
  const seen = new Set<number>();
  for (const share of shares) {
    assert.ok(share.length > 0);
    for (const c of share) {
      assert.ok(!seen.has(c), `CPU ${c} given twice: ${[...plan.cpus].map(([k, v]) => `${k}=${formatCpuList(v)}`).join(' ')}`);
      seen.add(c);
    }
  }
  assert.equal(formatCpuList(plan.cpus.get('one')!), '0-15,32-47', 'the most restricted worker goes first and keeps its whole node');
});

test('bus ids of every provider map to their sysfs names', () => {
  assert.equal(sysfsBusId('00000000:1B:00.0'), '0000:1b:00.0'); // nvidia-smi, NVML
  assert.equal(sysfsBusId('0000:C1:00.0'), '0000:c1:00.0'); // npu-smi, rocm-smi
  assert.equal(sysfsBusId('10000:01:00.0'), '10000:01:00.0'); // Intel VMD: a 5-digit domain
  assert.equal(sysfsBusId('1B:00.0'), undefined);
});

test('CPU workers split the allowed CPUs', () => {
  // No topology in this tree: each CPU counts as its own core.
  const plan = planCpuAffinity([0, 1, 2].map((i) => ({ id: `c${i}`, devices: [CPU] })), { sysRoot: tempDir('gpupool-sysfs-'), allowed: parseCpuList('0-5')! });
  assert.deepEqual([...plan.cpus.values()].map(formatCpuList), ['0-1', '2-3', '4-5']);
});

test('more workers than CPUs near their card is a config error naming them and the CPUs', () => {
  assert.throws(
    () => planCpuAffinity([0, 1, 2].map((i) => ({ id: `m/cuda:0/${i}`, devices: [CARDS[0]] })), { sysRoot: sysfs(), allowed: [0, 32] }),
    (err: unknown) => err instanceof GpupoolError && err.code === 'GPUPOOL_E_CONFIG' && /3 workers \(m\/cuda:0\/0, m\/cuda:0\/1, m\/cuda:0\/2\) share the CPUs 0,32 near their devices, 2 of them not given/.test(err.message),
  );
});
