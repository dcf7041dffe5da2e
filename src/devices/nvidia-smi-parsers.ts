import { deviceKey, type Device, type DeviceProcess, type DeviceSample } from './device.js';
import { DeviceToolError } from './device-tool-error.js';
import { mibToBytes, smiNumber, textLines } from './smi-values.js';

/** The columns {@link parseNvidiaSmiGpus} reads, in this order. */
export const NVIDIA_SMI_GPU_QUERY =
  'index,uuid,name,pci.bus_id,memory.total,memory.used,memory.free,utilization.gpu';
/** The columns {@link parseNvidiaSmiApps} reads, in this order. */
export const NVIDIA_SMI_APPS_QUERY = 'pid,gpu_uuid,used_memory';

export interface NvidiaSmiGpus {
  readonly devices: Device[];
  readonly samples: DeviceSample[];
}

/**
 * Parses `nvidia-smi --query-gpu=<NVIDIA_SMI_GPU_QUERY> --format=csv,noheader,nounits`.
 * nvidia-smi separates with ", " and never quotes, so a name holding a comma would shift
 * the columns: the name is therefore everything between the UUID and the bus id.
 */
export function parseNvidiaSmiGpus(text: string): NvidiaSmiGpus {
  const devices: Device[] = [];
  const samples: DeviceSample[] = [];
  for (const line of textLines(text)) {
    const cells = line.split(',').map((c) => c.trim());
    if (cells.length < 8) throw unreadable(line, 'expected 8 columns');
    const tail = cells.slice(-5);
    const [busId, total, used, free, util] = tail;
    const index = smiNumber(cells[0]);
    const uuid = cells[1];
    const name = cells.slice(2, cells.length - 5).join(', ');
    if (index === undefined || !Number.isInteger(index)) throw unreadable(line, `index "${cells[0]}" is not an integer`);
    const memoryTotal = mibToBytes(total) ?? 0;
    const memoryUsed = mibToBytes(used) ?? 0;
    devices.push({
      key: deviceKey('nvidia', index),
      vendor: 'nvidia',
      index,
      uuid,
      name,
      ...(/^[0-9A-Fa-f]+:[0-9A-Fa-f]+:/.test(busId) ? { pciBusId: busId } : {}),
      memoryTotal,
      visibleId: uuid,
    });
    samples.push({
      uuid,
      memoryTotal,
      memoryUsed,
      memoryFree: mibToBytes(free) ?? Math.max(0, memoryTotal - memoryUsed),
      ...optionalUtilization(smiNumber(util)),
    });
  }
  return { devices, samples };
}

/** Parses `nvidia-smi --query-compute-apps=<NVIDIA_SMI_APPS_QUERY> --format=csv,noheader,nounits`. */
export function parseNvidiaSmiApps(text: string): DeviceProcess[] {
  const processes: DeviceProcess[] = [];
  for (const line of textLines(text)) {
    // Some drivers print this instead of nothing.
    if (/^no running/i.test(line.trim())) continue;
    const cells = line.split(',').map((c) => c.trim());
    if (cells.length < 3) throw unreadable(line, 'expected 3 columns');
    const pid = smiNumber(cells[0]);
    if (pid === undefined) throw unreadable(line, `pid "${cells[0]}" is not a number`);
    const usedMemory = mibToBytes(cells[2]);
    processes.push({ pid, deviceUuid: cells[1], ...(usedMemory === undefined ? {} : { usedMemory }) });
  }
  return processes;
}

function optionalUtilization(value: number | undefined): { utilization?: number } {
  return value === undefined ? {} : { utilization: value };
}

function unreadable(line: string, why: string): DeviceToolError {
  return new DeviceToolError('nvidia-smi', `cannot read line "${line}": ${why}`);
}
