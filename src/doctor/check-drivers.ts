import { describeDevices, type Device, type DeviceProvider, type SkippedSource } from '../devices/index.js';
import type { DoctorEnv, Finding } from './doctor-finding.js';

const TOOL_FIX: Readonly<Record<string, string>> = {
  'nvidia-smi': 'The NVIDIA driver does not answer: run `nvidia-smi` by hand; after a driver update a reboot (or reloading the nvidia modules) clears a driver/library mismatch; in a container, start it with the GPUs (`--gpus all`).',
  'npu-smi': 'The Ascend driver does not answer: run `npu-smi info` by hand; check the driver install and that /dev/davinci* are passed to the container.',
  'rocm-smi': 'ROCm does not answer: run `rocm-smi` by hand; check the amdgpu driver and that /dev/kfd and /dev/dri are passed to the container.',
};

/** Which device sources answered, and why the others did not. */
export function checkDrivers(providers: readonly DeviceProvider[], devices: readonly Device[], skipped: readonly SkippedSource[], env: DoctorEnv): Finding[] {
  const findings: Finding[] = [];
  for (const p of providers) {
    if (p.vendor === 'cpu') continue;
    const own = devices.filter((d) => d.vendor === p.vendor);
    findings.push({ check: 'drivers', level: 'ok', message: `${p.source}: ${own.length} device${own.length === 1 ? '' : 's'}, ${describeDevices(own)}` });
  }
  const nvidiaBySmi = providers.some((p) => p.source === 'nvidia-smi');
  for (const s of skipped) {
    if (s.reason === 'not found' || s.reason === 'no devices') continue;
    if (s.source === 'nvml') {
      if (nvidiaBySmi) {
        findings.push({
          check: 'drivers',
          level: 'warn',
          message: `NVML: ${s.reason}; NVIDIA cards are read through nvidia-smi instead, a process per reading`,
          fix: 'Put libnvidia-ml.so.1 (it comes with the driver) on the loader path, or set GPUPOOL_NVML_LIB to its full path.',
        });
      }
      continue;
    }
    findings.push({ check: 'drivers', level: 'error', message: `${s.reason}`, fix: TOOL_FIX[s.source] ?? `Run ${s.source} by hand to see why it fails.` });
  }
  if (env.GPUPOOL_NO_NVML === '1' && nvidiaBySmi) {
    findings.push({ check: 'drivers', level: 'info', message: 'GPUPOOL_NO_NVML=1: NVML is not tried; NVIDIA cards are read through nvidia-smi' });
  }
  if (!devices.some((d) => d.vendor !== 'cpu')) {
    findings.push({ check: 'drivers', level: 'info', message: 'no accelerator found: models run on the CPU' });
  }
  return findings;
}
