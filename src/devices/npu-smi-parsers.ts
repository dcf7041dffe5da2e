import { deviceKey, type Device, type DeviceProcess, type DeviceSample } from './device.js';
import { DeviceToolError } from './device-tool-error.js';
import { MIB, smiNumber } from './smi-values.js';

/** One chip as `npu-smi info` shows it, with the numbers its process table refers to. */
export interface NpuChip {
  readonly device: Device;
  readonly sample: DeviceSample;
  /** The NPU (card) id of the first column. */
  readonly npuId: number;
  /** The chip id within the card (0 on a 910B; 0 and 1 on dual-die parts). */
  readonly chipId: number;
}

export interface NpuSmiInfo {
  readonly chips: NpuChip[];
  readonly processes: DeviceProcess[];
}

/**
 * Parses the tables of `npu-smi info`. Each chip takes two rows:
 * `| NPU  Name | Health | Power Temp Hugepages |` then `| Chip [Phy-ID|Device] | Bus-Id |
 * AICore Memory-Usage [HBM-Usage] |`; the process table at the bottom names chips by
 * (NPU, Chip). Cards given to a container keep their host NPU ids (0, 3, 4, 7), while the
 * runtime numbers them 0..n-1: that logical id is what `ASCEND_RT_VISIBLE_DEVICES` takes.
 */
export function parseNpuSmiInfo(text: string): NpuSmiInfo {
  const rows: ChipRow[] = [];
  const rawProcesses: { npuId: number; chipId: number; pid: number; memMb?: number }[] = [];
  let chipColumns: 'none' | 'phy-id' | 'device' = 'none';
  let inProcessTable = false;
  let pending: { npuId: number; name: string } | undefined;

  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line.startsWith('|')) continue;
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    const first = cells[0] ?? '';
    if (/^Chip\b/.test(first)) {
      chipColumns = /Phy-ID/i.test(first) ? 'phy-id' : /Device/i.test(first) ? 'device' : 'none';
      continue;
    }
    if (/^NPU\b/.test(first)) {
      inProcessTable = cells.some((c) => /Process id/i.test(c));
      continue;
    }
    if (inProcessTable) {
      const ids = /^(\d+)\s+(\d+)$/.exec(first);
      if (!ids || cells.length < 4) continue; // "No running processes found in NPU 0"
      const pid = smiNumber(cells[1]);
      if (pid === undefined) continue;
      const memMb = smiNumber(cells[3]);
      rawProcesses.push({ npuId: Number(ids[1]), chipId: Number(ids[2]), pid, ...(memMb === undefined ? {} : { memMb }) });
      continue;
    }
    const head = /^(\d+)\s+(\S.*)$/.exec(first);
    if (head && !/^\d+$/.test(head[2])) {
      pending = { npuId: Number(head[1]), name: head[2] };
      continue;
    }
    const chipRow = /^(\d+)(?:\s+(\d+))?$/.exec(first);
    if (chipRow && pending) {
      const second = chipRow[2] === undefined ? undefined : Number(chipRow[2]);
      rows.push({ ...pending, chipId: Number(chipRow[1]), second, cells, line });
      pending = undefined;
    }
  }

  // Host numbering: the card id where every card has one chip (910B); on dual-die cards
  // the chip's own id (Phy-ID; the Device column on 310P), else its position.
  const oneChipPerCard = chipColumns === 'none' && rows.every((r) => r.chipId === 0);
  // Dual-chip 310P cards show one bus id for both chips: then the chip id joins the UUID.
  const busIds = rows.map((r) => r.cells[1] ?? '');
  const sharedBus = new Set(busIds).size < busIds.length;
  const chips = rows.map((row, position) => {
    const index = oneChipPerCard ? row.npuId : (row.second ?? position);
    const logical = chipColumns === 'device' && row.second !== undefined ? row.second : position;
    return chipFrom(row, index, logical, sharedBus);
  });

  const byIds = new Map(chips.map((c) => [`${c.npuId}/${c.chipId}`, c.device.uuid]));
  const processes: DeviceProcess[] = [];
  for (const p of rawProcesses) {
    const deviceUuid = byIds.get(`${p.npuId}/${p.chipId}`);
    if (deviceUuid === undefined) continue;
    processes.push({ pid: p.pid, deviceUuid, ...(p.memMb === undefined ? {} : { usedMemory: p.memMb * MIB }) });
  }
  return { chips, processes };
}

interface ChipRow {
  readonly npuId: number;
  readonly name: string;
  readonly chipId: number;
  /** The number after the chip id: Phy-ID or Device, by the header. */
  readonly second?: number;
  readonly cells: string[];
  readonly line: string;
}

function chipFrom(row: ChipRow, index: number, logical: number, sharedBus: boolean): NpuChip {
  const { cells, line, npuId, chipId, name } = row;
  const busId = cells[1] ?? '';
  const usage = cells[2] ?? '';
  // "0  0 / 0  3440 / 65536": AICore %, then used/total pairs: DDR memory, then HBM where present.
  const pairs = [...usage.matchAll(/(\d+)\s*\/\s*(\d+)/g)].map((m) => ({ used: Number(m[1]), total: Number(m[2]) }));
  const memory = pairs.length >= 2 ? pairs[pairs.length - 1] : pairs[0];
  if (!memory) throw new DeviceToolError('npu-smi', `cannot read memory usage in "${line}"`);
  const aicore = smiNumber(usage.split(/\s+/)[0]);

  const validBus = /^[0-9A-Fa-f]{4}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-7]$/.test(busId);
  // npu-smi info prints no UUID; a chip's PCI address is its stable identity on this host.
  const uuid = validBus ? `NPU-${busId.toUpperCase()}${sharedBus ? `-${chipId}` : ''}` : `NPU-${npuId}-${chipId}`;
  const memoryTotal = memory.total * MIB;
  const memoryUsed = memory.used * MIB;
  return {
    npuId,
    chipId,
    device: {
      key: deviceKey('ascend', index),
      vendor: 'ascend',
      index,
      uuid,
      name,
      ...(validBus ? { pciBusId: busId.toUpperCase() } : {}),
      memoryTotal,
      visibleId: String(logical),
    },
    sample: {
      uuid,
      memoryTotal,
      memoryUsed,
      memoryFree: Math.max(0, memoryTotal - memoryUsed),
      ...(aicore === undefined ? {} : { utilization: aicore }),
    },
  };
}
