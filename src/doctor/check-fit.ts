import { formatBytes, type GpupoolConfig } from '../config/index.js';
import { planWorkers, planWorkersByMemory, selectDevices, type Device, type DeviceSample } from '../devices/index.js';
import { isGpupoolError } from '../errors/index.js';
import { chooseNeed, MeasuredNeedStore, needPerDevice } from '../pool/index.js';
import { resolveCommand } from '../worker/index.js';
import type { DoctorEnv, Finding } from './doctor-finding.js';

export interface FitCheck {
  readonly findings: Finding[];
  /** Workers each model would start now: how many replica ports a `kind: http` model takes. */
  readonly workers: ReadonlyMap<string, number>;
}

/**
 * Each model as `gpupool run` would start it now: its command exists, and with `memory.need`
 * its workers fit in the memory free now, models taking their share in config order.
 */
export function checkFit(config: GpupoolConfig, devices: readonly Device[], samples: readonly DeviceSample[], env: DoctorEnv, models?: readonly string[], override?: string): FitCheck {
  const findings: Finding[] = [];
  const workers = new Map<string, number>();
  const free = new Map(samples.map((s) => [s.uuid, s.memoryFree]));
  // A model without memory.need is placed by what an earlier run measured, as `gpupool run` would.
  const remembered = MeasuredNeedStore.fromEnv(env, (message) => findings.push({ check: 'fit', level: 'warn', message, fix: 'Delete the file; the next run measures again.' }));
  for (const name of models ?? Object.keys(config.models)) {
    const model = config.models[name];
    if (!model) continue;
    try {
      resolveCommand(model.command, config.baseDir, { PATH: env.PATH });
    } catch (err) {
      if (!isGpupoolError(err)) throw err;
      findings.push({ check: 'config', level: 'error', message: `model "${name}": ${err.message}`, fix: err.remedy });
    }
    let selected: Device[];
    try {
      selected = selectDevices(override ?? model.devices, devices, env);
    } catch {
      continue; // reported by the visibility check
    }
    const options = { workersPerDevice: model.workers_per_device, devicesPerWorker: model.devices_per_worker, model: name };
    try {
      const need = chooseNeed(model, config.baseDir, selected, remembered);
      if (need?.source === 'measured') findings.push({ check: 'fit', level: 'info', message: `model "${name}": no memory.need; ${need.byDeviceName ? "each card model's own" : formatBytes(need.bytes)} is used (${need.note})` });
      if (need === undefined) {
        const planned = planWorkers(selected, options);
        workers.set(name, planned.length);
        findings.push({ check: 'fit', level: 'ok', message: `model "${name}": ${planned.length} worker${planned.length === 1 ? '' : 's'} on ${[...new Set(planned.map((w) => w.key))].join(', ')} (no memory.need: free memory is not checked)` });
        continue;
      }
      const plan = planWorkersByMemory(selected, { ...options, need: need.bytes, ...needPerDevice(need), needNote: need.note, reserve: model.memory.reserve, placement: model.placement, free, model: name });
      for (const [uuid, bytes] of plan.taken) if (free.has(uuid)) free.set(uuid, free.get(uuid)! - bytes);
      workers.set(name, plan.workers.length);
      for (const s of plan.skipped) {
        findings.push({ check: 'fit', level: 'warn', message: s.message, fix: 'Free memory on that device, or lower `memory.need`; the other devices run the model meanwhile.' });
      }
      const where = [...new Set(plan.workers.map((w) => w.key))].map((k) => `${k} ×${plan.workers.filter((w) => w.key === k).length}`).join(', ');
      findings.push({ check: 'fit', level: 'ok', message: `model "${name}": ${plan.workers.length} worker${plan.workers.length === 1 ? '' : 's'} of ${need.byDeviceName ? `up to ${formatBytes(need.bytes)}` : formatBytes(need.bytes)} fit (${model.placement}): ${where}` });
    } catch (err) {
      if (!isGpupoolError(err)) throw err;
      findings.push({ check: 'fit', level: 'error', message: err.message, fix: err.remedy });
    }
  }
  return { findings, workers };
}
