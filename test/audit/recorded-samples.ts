import { parseNpuSmiInfo, parseNvidiaSmiApps, parseNvidiaSmiGpus, type Device, type DeviceProcess } from '../../src/devices/index.js';
import type { AuditSample, DeviceProcessSample, ProcessFacts } from '../../src/audit/index.js';
import { fixture } from '../devices/fixtures.js';

/**
 * Samples for the audit's decision logic. The device side is real, captured output: the
 * five PyTorch processes (PIDs 569–574) that `nvidia-smi --query-compute-apps` listed on a
 * 2× H200 host (test/fixtures/devices/SOURCES.md), and the process `npu-smi info` listed
 * on a 2× 910B2C host. The /proc side (parents, environments) is what each scenario says.
 */
export const H200 = parseNvidiaSmiGpus(fixture('nvidia-smi/h200x2-busy-gpus.csv')).devices;
export const CARD0 = H200[0];
export const CARD1 = H200[1];
const H200_APPS = parseNvidiaSmiApps(fixture('nvidia-smi/h200x2-busy-apps.csv'));

export const NPU = parseNpuSmiInfo(fixture('npu-smi/910b2c-2npu-one-process.txt'));

function named(processes: readonly DeviceProcess[], devices: readonly Device[]): DeviceProcessSample[] {
  return processes.map((p) => ({
    pid: p.pid,
    deviceUuid: p.deviceUuid,
    deviceKey: devices.find((d) => d.uuid === p.deviceUuid)!.key,
    ...(p.usedMemory === undefined ? {} : { usedMemory: p.usedMemory }),
  }));
}

/** The H200 host's five processes: 574 (1018 MiB) and 569 (3518 MiB) on cuda:0; 570 (5518), 572 (1218), 571 (1518) on cuda:1. */
export function h200Sample(facts: readonly ProcessFacts[], at = 1_700_000_000_000): AuditSample {
  return { at, processes: named(H200_APPS, H200), facts };
}

/** The 910B2C host's one process: PID 124528 holding 17400 MB on npu:0. */
export function npuSample(facts: readonly ProcessFacts[], at = 1_700_000_000_000): AuditSample {
  return { at, processes: named(NPU.processes, NPU.chips.map((c) => c.device)), facts };
}

/** The gpupool under test, and a shell and init above it. */
export const POOL_PID = 500;
export const GPUPOOL_AND_ABOVE: ProcessFacts[] = [
  { pid: POOL_PID, ppid: 400, startTime: 9000 },
  { pid: 400, ppid: 1, startTime: 8000 },
];

/** A worker process of this pool, as /proc shows it. */
export function workerFacts(pid: number, worker: string, extra: Partial<ProcessFacts> = {}): ProcessFacts {
  return { pid, ppid: POOL_PID, startTime: 10_000 + pid, worker, model: worker.split('/')[0], poolPid: POOL_PID, ...extra };
}
