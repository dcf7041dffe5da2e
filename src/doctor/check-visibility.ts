import { describeDevices, selectDevices, visibilityRestrictions, type Device } from '../devices/index.js';
import type { GpupoolConfig } from '../config/index.js';
import { isGpupoolError } from '../errors/index.js';
import type { DoctorEnv, Finding } from './doctor-finding.js';

/**
 * Visibility variables in gpupool's own environment: they decide which cards it may use,
 * and a stale one from a shell profile or a scheduler hides cards the config names.
 */
export function checkVisibility(devices: readonly Device[], env: DoctorEnv, config?: GpupoolConfig, models?: readonly string[], override?: string): Finding[] {
  const findings: Finding[] = [];
  for (const r of visibilityRestrictions(devices, env)) {
    const vars = r.variables.join(' ');
    if (r.unknown.length > 0) {
      findings.push({
        check: 'visibility',
        level: 'error',
        message: `${vars}: ${r.unknown.map((u) => `"${u}"`).join(', ')} name${r.unknown.length === 1 ? 's' : ''} no device here; it leaves ${describeDevices(r.visible)}`,
        fix:
          r.vendor === 'ascend'
            ? `ASCEND_RT_VISIBLE_DEVICES takes the runtime's logical ids (${devices.filter((d) => d.vendor === 'ascend').map((d) => `${d.key} is ${d.visibleId ?? d.index}`).join(', ')}): rewrite it with those, or unset it.`
            : `Rewrite it with indices or UUIDs from \`gpupool devices\`, or unset it.`,
      });
    } else {
      findings.push({
        check: 'visibility',
        level: 'warn',
        message: `gpupool runs under ${vars}: only ${describeDevices(r.visible)} can be used (still named by host index)`,
        fix: `If that is not meant, \`unset ${r.variables.map((v) => v.split('=')[0]).join(' ')}\` before starting gpupool: workers are pinned by gpupool itself.`,
      });
    }
  }
  const cuda = env.CUDA_VISIBLE_DEVICES;
  const nvidia = devices.filter((d) => d.vendor === 'nvidia');
  if (cuda !== undefined && nvidia.length > 1 && /(^|,)\s*\d/.test(cuda) && env.CUDA_DEVICE_ORDER !== 'PCI_BUS_ID') {
    findings.push({
      check: 'visibility',
      level: 'warn',
      message: `CUDA_VISIBLE_DEVICES="${cuda}" uses indices without CUDA_DEVICE_ORDER=PCI_BUS_ID: CUDA numbers cards fastest first, so index n there may not be card n of nvidia-smi, which gpupool follows`,
      fix: 'export CUDA_DEVICE_ORDER=PCI_BUS_ID, or write UUIDs in CUDA_VISIBLE_DEVICES.',
    });
  }
  if (!config) return findings;
  for (const name of models ?? Object.keys(config.models)) {
    const model = config.models[name];
    if (!model) continue;
    const spec = override ?? model.devices;
    try {
      selectDevices(spec, devices, env);
    } catch (err) {
      if (!isGpupoolError(err)) throw err;
      findings.push({ check: 'visibility', level: 'error', message: `model "${name}" (devices: ${[spec].flat().join(',')}): ${err.message}`, fix: err.remedy });
    }
  }
  return findings;
}
