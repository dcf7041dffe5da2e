import type { Device, Vendor } from './device.js';

/** What a vendor's visibility variables in gpupool's own environment leave usable. */
export interface VisibilityRestriction {
  readonly vendor: Vendor;
  /** The variables that set it, as `NAME="value"`, for messages. */
  readonly variables: readonly string[];
  /** The devices that may be chosen, named by host index as always. */
  readonly visible: readonly Device[];
  /** Entries that named no device of this host. */
  readonly unknown: readonly string[];
  /** The value hides every device on purpose (`""`, `-1`), rather than by a mistake. */
  readonly hidesAll: boolean;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads CUDA_VISIBLE_DEVICES, ASCEND_RT_VISIBLE_DEVICES, ROCR_VISIBLE_DEVICES and
 * HIP_VISIBLE_DEVICES as each runtime would, against the host's devices. Only vendors
 * with a variable set get a restriction.
 */
export function visibilityRestrictions(available: readonly Device[], env: Env): VisibilityRestriction[] {
  const of = (vendor: Vendor): Device[] => available.filter((d) => d.vendor === vendor);
  const restrictions: VisibilityRestriction[] = [];
  const nvidia = of('nvidia');
  const cuda = env.CUDA_VISIBLE_DEVICES;
  if (cuda !== undefined && nvidia.length > 0) restrictions.push(cudaRestriction(nvidia, cuda));
  const ascend = env.ASCEND_RT_VISIBLE_DEVICES;
  if (ascend !== undefined && of('ascend').length > 0) restrictions.push(ascendRestriction(of('ascend'), ascend));
  const amd = of('amd');
  // HIP also honours CUDA_VISIBLE_DEVICES, but on a host with NVIDIA cards that value is theirs.
  const hip = env.HIP_VISIBLE_DEVICES ?? (nvidia.length === 0 ? env.CUDA_VISIBLE_DEVICES : undefined);
  const hipName = env.HIP_VISIBLE_DEVICES !== undefined ? 'HIP_VISIBLE_DEVICES' : 'CUDA_VISIBLE_DEVICES';
  if ((env.ROCR_VISIBLE_DEVICES !== undefined || hip !== undefined) && amd.length > 0) {
    restrictions.push(amdRestriction(amd, env.ROCR_VISIBLE_DEVICES, hip, hipName));
  }
  return restrictions;
}

function entries(value: string): string[] {
  return value.split(',').map((e) => e.trim()).filter((e) => e.length > 0);
}

function hidesAll(value: string): boolean {
  const first = entries(value)[0];
  return first === undefined || /^-\d+$/.test(first);
}

function byUuidPrefix(devices: readonly Device[], entry: string): Device | undefined {
  const matches = devices.filter((d) => d.uuid.toLowerCase().startsWith(entry.toLowerCase()));
  return matches.length === 1 ? matches[0] : undefined;
}

/** CUDA: indices (in PCI order, as CUDA_DEVICE_ORDER=PCI_BUS_ID numbers them) or UUID prefixes; parsing stops at the first invalid entry, as CUDA's does. */
function cudaRestriction(devices: Device[], value: string): VisibilityRestriction {
  const visible: Device[] = [];
  const list = entries(value);
  let stop = list.length;
  for (let i = 0; i < list.length; i++) {
    const entry = list[i];
    const device = /^\d+$/.test(entry)
      ? devices.find((d) => d.index === Number(entry))
      : /^GPU-/i.test(entry) ? byUuidPrefix(devices, entry) : undefined;
    if (!device) {
      stop = i;
      break;
    }
    if (!visible.includes(device)) visible.push(device);
  }
  return {
    vendor: 'nvidia',
    variables: [`CUDA_VISIBLE_DEVICES="${value}"`],
    visible,
    unknown: hidesAll(value) ? [] : list.slice(stop),
    hidesAll: hidesAll(value),
  };
}

/** Ascend: the runtime's logical ids (0..n-1 over the NPUs this host or container shows). */
function ascendRestriction(devices: Device[], value: string): VisibilityRestriction {
  const visible: Device[] = [];
  const unknown: string[] = [];
  for (const entry of entries(value)) {
    const device = devices.find((d) => (d.visibleId ?? String(d.index)) === entry);
    if (device) {
      if (!visible.includes(device)) visible.push(device);
    } else if (!/^-\d+$/.test(entry)) unknown.push(entry);
  }
  return { vendor: 'ascend', variables: [`ASCEND_RT_VISIBLE_DEVICES="${value}"`], visible, unknown, hidesAll: hidesAll(value) };
}

/** AMD: ROCR_VISIBLE_DEVICES (indices or `GPU-` unique ids) first, then HIP's indices into what ROCR left. */
function amdRestriction(devices: Device[], rocr: string | undefined, hip: string | undefined, hipName: string): VisibilityRestriction {
  const unknown: string[] = [];
  let visible: Device[] = devices;
  const variables: string[] = [];
  if (rocr !== undefined) {
    variables.push(`ROCR_VISIBLE_DEVICES="${rocr}"`);
    visible = [];
    for (const entry of entries(rocr)) {
      const device = /^\d+$/.test(entry) ? devices.find((d) => d.index === Number(entry)) : byUuidPrefix(devices, entry);
      if (device && !visible.includes(device)) visible.push(device);
      else if (!device && !/^-\d+$/.test(entry)) unknown.push(entry);
    }
  }
  if (hip !== undefined) {
    variables.push(`${hipName}="${hip}"`);
    const base = visible;
    visible = [];
    for (const entry of entries(hip)) {
      const device = /^\d+$/.test(entry) ? base[Number(entry)] : undefined;
      if (device && !visible.includes(device)) visible.push(device);
      else if (!device && !/^-\d+$/.test(entry)) unknown.push(entry);
    }
  }
  const hidden = (rocr !== undefined && hidesAll(rocr)) || (hip !== undefined && hidesAll(hip));
  return { vendor: 'amd', variables, visible, unknown, hidesAll: hidden };
}
