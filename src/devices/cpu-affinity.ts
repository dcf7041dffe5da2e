import fs from 'node:fs';
import path from 'node:path';
import { GpupoolError } from '../errors/index.js';
import type { Device } from './device.js';

/** `0-3,8,10-11` → [0, 1, 2, 3, 8, 10, 11] (the kernel's cpulist format); undefined if malformed. */
export function parseCpuList(text: string): number[] | undefined {
  const cpus = new Set<number>();
  const body = text.trim();
  if (body === '') return [];
  for (const part of body.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) return undefined;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) return undefined;
    for (let c = from; c <= to; c++) cpus.add(c);
  }
  return [...cpus].sort((a, b) => a - b);
}

/** [0, 1, 2, 3, 8] → `0-3,8`: what `taskset -c` takes. */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(j === i ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** Where the kernel says which CPUs are near things; a test points these at a copied tree. */
export interface AffinitySources {
  /** @defaultValue /sys */
  readonly sysRoot?: string;
  /** The CPUs this process may run on (what a container or `taskset` left it). @defaultValue from /proc/self/status */
  readonly allowed?: readonly number[];
}

/** CPUs this process may use, from /proc/self/status; undefined where that cannot be read. */
export function allowedCpus(statusFile = '/proc/self/status'): number[] | undefined {
  try {
    const line = /^Cpus_allowed_list:\s*(.+)$/m.exec(fs.readFileSync(statusFile, 'utf8'));
    return line ? parseCpuList(line[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** `00000000:1B:00.0` (nvidia-smi) → `0000:1b:00.0` (sysfs). */
function sysfsBusId(busId: string): string {
  const [domain, bus, slotFn] = busId.toLowerCase().split(':');
  return `${domain.slice(-4).padStart(4, '0')}:${bus}:${slotFn}`;
}

/** The CPUs on the device's NUMA node, from sysfs; undefined where the kernel does not say. */
export function deviceLocalCpus(device: Device, sysRoot = '/sys'): number[] | undefined {
  if (!device.pciBusId) return undefined;
  try {
    return parseCpuList(fs.readFileSync(path.join(sysRoot, 'bus/pci/devices', sysfsBusId(device.pciBusId), 'local_cpulist'), 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The CPUs grouped by physical core (a core's hyperthreads together), cores in the order of
 * their first CPU; a CPU whose topology the kernel does not tell is a core of its own.
 */
export function physicalCores(cpus: readonly number[], sysRoot = '/sys'): number[][] {
  const cores = new Map<string, number[]>();
  for (const cpu of cpus) {
    let key = `cpu${cpu}`;
    for (const file of ['core_cpus_list', 'thread_siblings_list']) {
      try {
        key = fs.readFileSync(path.join(sysRoot, 'devices/system/cpu', `cpu${cpu}`, 'topology', file), 'utf8').trim();
        break;
      } catch {
        // older kernels have only the second name; neither: its own core
      }
    }
    cores.set(key, [...(cores.get(key) ?? []), cpu]);
  }
  return [...cores.values()].sort((a, b) => a[0] - b[0]);
}

/** `units` split into `n` contiguous, near-equal slices; each slice's CPUs. */
function slices(units: readonly number[][], n: number): number[][] {
  return Array.from({ length: n }, (_, i) => units.slice(Math.floor((i * units.length) / n), Math.floor(((i + 1) * units.length) / n)).flat().sort((a, b) => a - b));
}

/** A worker to give CPUs to: its key and the devices it is pinned to. */
export interface AffinityRequest {
  readonly id: string;
  readonly devices: readonly Device[];
}

/**
 * `cpus: auto`: each worker gets its own share of the CPUs near its devices. Workers whose
 * devices sit on the same NUMA node (the same local CPU list) split that node's physical cores
 * (sysfs topology: a core's hyperthreads stay together, however Linux numbers them) into
 * contiguous, disjoint slices, one per worker; by single CPUs only when there are more
 * workers than cores. A CPU worker's "near" CPUs are all those this process may use. Only
 * CPUs this process is allowed on are handed out.
 *
 * Why: a model that launches many small kernels per batch (ResNet-50 at batch 64 spends 3.4–4.2 ms
 * of a 4.5 ms batch queueing kernels on an H200) runs its card at the speed of its host thread;
 * one on a far NUMA node or sharing a core with a neighbour idles its card.
 *
 * @returns worker id → CPUs; a worker whose devices' node the kernel does not tell is absent (not pinned).
 * @throws GpupoolError GPUPOOL_E_CONFIG when a group has more workers than CPUs.
 */
export function planCpuAffinity(requests: readonly AffinityRequest[], sources: AffinitySources = {}): Map<string, number[]> {
  const allowed = new Set(sources.allowed ?? allowedCpus() ?? []);
  const groups = new Map<string, AffinityRequest[]>();
  const near = new Map<string, number[]>();
  for (const req of requests) {
    const cpus = nearCpus(req.devices, sources.sysRoot, allowed);
    if (cpus.length === 0) continue;
    const key = formatCpuList(cpus);
    near.set(key, cpus);
    groups.set(key, [...(groups.get(key) ?? []), req]);
  }
  const plan = new Map<string, number[]>();
  for (const [key, members] of groups) {
    const cpus = near.get(key)!;
    if (members.length > cpus.length) {
      throw new GpupoolError(
        'GPUPOOL_E_CONFIG',
        `cpus: auto gives each worker its own CPUs, but ${members.length} workers (${members.map((m) => m.id).join(', ')}) share the ${cpus.length} CPUs ${key} near their devices; use fewer workers or \`cpus: none\`.`,
      );
    }
    // Whole physical cores where there are enough, so no two workers share a core's hyperthreads.
    const cores = physicalCores(cpus, sources.sysRoot);
    const units = cores.length >= members.length ? cores : cpus.map((c) => [c]);
    slices(units, members.length).forEach((share, i) => plan.set(members[i].id, share));
  }
  return plan;
}

function nearCpus(devices: readonly Device[], sysRoot: string | undefined, allowed: ReadonlySet<number>): number[] {
  const cpus = new Set<number>();
  for (const d of devices) {
    const local = d.vendor === 'cpu' ? [...allowed] : deviceLocalCpus(d, sysRoot);
    if (local === undefined) return [];
    for (const c of local) if (allowed.has(c)) cpus.add(c);
  }
  return [...cpus].sort((a, b) => a - b);
}
