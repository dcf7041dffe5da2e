import { deviceKey, type Device, type DeviceProcess, type DeviceSample } from './device.js';
import { DeviceToolError } from './device-tool-error.js';
import { smiNumber } from './smi-values.js';

/** The flags whose `--json` answer {@link parseRocmSmiJson} reads. */
export const ROCM_SMI_DEVICE_ARGS = ['--showmeminfo', 'vram', '--showproductname', '--showuniqueid', '--showuse', '--showbus', '--json'];
/** Both process tables in one call: memory per PID, and which GPUs each PID holds. */
export const ROCM_SMI_PROCESS_ARGS = ['--showpids', '--showpidgpus'];

export interface RocmSmiDevices {
  readonly devices: Device[];
  readonly samples: DeviceSample[];
}

/**
 * Parses `rocm-smi … --json`: one object per `cardN` (N is rocm-smi's device index),
 * values as strings, plus a `system` object. rocm-smi may print warnings before the JSON.
 */
export function parseRocmSmiJson(text: string): RocmSmiDevices {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(text.slice(start, end + 1)) as Record<string, unknown>;
  } catch (err) {
    throw new DeviceToolError('rocm-smi', `output is not JSON: ${text.trim().split('\n')[0] ?? ''}`, { cause: err });
  }
  const cards = Object.entries(data)
    .map(([key, value]) => ({ index: /^card(\d+)$/.exec(key)?.[1], fields: value as Record<string, string> }))
    .filter((c): c is { index: string; fields: Record<string, string> } => c.index !== undefined)
    .map((c) => ({ index: Number(c.index), fields: c.fields }))
    .sort((a, b) => a.index - b.index);

  const devices: Device[] = [];
  const samples: DeviceSample[] = [];
  for (const { index, fields } of cards) {
    const uniqueId = /^0x([0-9a-f]+)$/i.exec(fields['Unique ID'] ?? '')?.[1];
    // rocminfo and ROCR_VISIBLE_DEVICES spell the unique id as GPU-<16 hex digits>.
    const uuid = uniqueId ? `GPU-${uniqueId.toLowerCase().padStart(16, '0')}` : `rocm-${index}`;
    const memoryTotal = smiNumber(fields['VRAM Total Memory (B)']) ?? 0;
    const memoryUsed = smiNumber(fields['VRAM Total Used Memory (B)']) ?? 0;
    const busId = fields['PCI Bus'];
    const utilization = smiNumber(fields['GPU use (%)']);
    devices.push({
      key: deviceKey('amd', index),
      vendor: 'amd',
      index,
      uuid,
      name: productName(fields),
      ...(busId && /^[0-9A-Fa-f]{4}:/.test(busId) ? { pciBusId: busId } : {}),
      memoryTotal,
      ...(uniqueId ? { visibleId: uuid } : {}),
    });
    samples.push({
      uuid,
      memoryTotal,
      memoryUsed,
      memoryFree: Math.max(0, memoryTotal - memoryUsed),
      ...(utilization === undefined ? {} : { utilization }),
    });
  }
  return { devices, samples };
}

function productName(fields: Record<string, string>): string {
  // Key spelling changed across ROCm releases ("Card series" → "Card Series", "Device Name").
  for (const key of ['Card Series', 'Card series', 'Device Name', 'Card Model']) {
    const value = fields[key]?.trim();
    if (value && value !== 'N/A') return value;
  }
  return 'AMD GPU';
}

/** A row of the "KFD Processes" table of `rocm-smi --showpids`. */
export interface RocmSmiPid {
  readonly pid: number;
  readonly name: string;
  /** How many GPUs the process uses (not which: that is `--showpidgpus`). */
  readonly gpuCount?: number;
  /** Bytes across all its GPUs; undefined where rocm-smi says UNKNOWN. */
  readonly vramUsed?: number;
}

/** Parses the "KFD Processes" table: tab- or space-separated, name in the middle. */
export function parseRocmSmiPids(text: string): RocmSmiPid[] {
  const rows: RocmSmiPid[] = [];
  let inTable = false;
  for (const line of text.split(/\r?\n/)) {
    if (/^\s*PID\s+PROCESS NAME/i.test(line)) {
      inTable = true;
      continue;
    }
    if (!inTable) continue;
    if (line.startsWith('=')) {
      inTable = false;
      continue;
    }
    const tokens = line.trim().split(/\s+/);
    if (tokens.length < 6 || !/^\d+$/.test(tokens[0])) continue;
    const [gpus, vram] = tokens.slice(-4);
    const gpuCount = smiNumber(gpus);
    const vramUsed = smiNumber(vram);
    rows.push({
      pid: Number(tokens[0]),
      name: tokens.slice(1, -4).join(' '),
      ...(gpuCount === undefined ? {} : { gpuCount }),
      ...(vramUsed === undefined ? {} : { vramUsed }),
    });
  }
  return rows;
}

/**
 * Parses "GPUs Indexed by PID" (`rocm-smi --showpidgpus`): `PID 79301 is using 1 DRM
 * device(s):` followed by the device indices, on one line or one per line.
 */
export function parseRocmSmiPidGpus(text: string): Map<number, number[]> {
  const result = new Map<number, number[]>();
  let current: { pid: number; left: number } | undefined;
  for (const line of text.split(/\r?\n/)) {
    const head = /PID\s+(\d+)\s+is using\s+(\d+)\s+DRM device/i.exec(line);
    if (head) {
      current = { pid: Number(head[1]), left: Number(head[2]) };
      result.set(current.pid, []);
      continue;
    }
    if (!current || current.left === 0) continue;
    const ids = line.trim().split(/\s+/).filter((t) => /^\d+$/.test(t)).map(Number);
    if (ids.length === 0) {
      current = undefined;
      continue;
    }
    const taken = ids.slice(0, current.left);
    result.get(current.pid)?.push(...taken);
    current.left -= taken.length;
  }
  return result;
}

/**
 * Joins both tables into per-device processes. rocm-smi gives one VRAM figure per PID, so
 * memory is attributed only where the PID holds a single GPU; PIDs holding none (monitoring
 * daemons that merely opened /dev/kfd) are left out.
 */
export function parseRocmSmiProcesses(text: string, devices: readonly Device[]): DeviceProcess[] {
  const vram = new Map(parseRocmSmiPids(text).map((p) => [p.pid, p]));
  const byIndex = new Map(devices.map((d) => [d.index, d.uuid]));
  const processes: DeviceProcess[] = [];
  for (const [pid, indices] of parseRocmSmiPidGpus(text)) {
    const used = indices.length === 1 ? vram.get(pid)?.vramUsed : undefined;
    for (const index of indices) {
      const deviceUuid = byIndex.get(index);
      if (deviceUuid === undefined) continue;
      processes.push({ pid, deviceUuid, ...(used === undefined ? {} : { usedMemory: used }) });
    }
  }
  return processes;
}
