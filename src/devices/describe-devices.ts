import { DEVICE_KIND, type Device, type Vendor } from './device.js';

const VENDOR_ORDER: readonly Vendor[] = ['nvidia', 'ascend', 'amd', 'cpu'];

/** Host order: NVIDIA, Ascend, AMD, then CPU; by index within a vendor. */
export function compareDevices(a: Device, b: Device): number {
  return VENDOR_ORDER.indexOf(a.vendor) - VENDOR_ORDER.indexOf(b.vendor) || a.index - b.index;
}

/**
 * Names a set of devices compactly for messages: `cuda:0-7 (NVIDIA H100 80GB HBM3), cpu:0
 * (AMD EPYC 9474F)`. Consecutive indices of one vendor and name collapse into a range.
 */
export function describeDevices(devices: readonly Device[]): string {
  if (devices.length === 0) return 'none';
  const sorted = [...devices].sort(compareDevices);
  const groups: { kind: string; name: string; indices: number[] }[] = [];
  for (const d of sorted) {
    const last = groups[groups.length - 1];
    const kind = DEVICE_KIND[d.vendor];
    if (last && last.kind === kind && last.name === d.name) last.indices.push(d.index);
    else groups.push({ kind, name: d.name, indices: [d.index] });
  }
  return groups.map((g) => `${g.kind}:${ranges(g.indices)} (${g.name})`).join(', ');
}

function ranges(indices: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < indices.length; ) {
    let j = i;
    while (j + 1 < indices.length && indices[j + 1] === indices[j] + 1) j++;
    parts.push(j === i ? `${indices[i]}` : `${indices[i]}-${indices[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
