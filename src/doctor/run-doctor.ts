import { loadConfig, type GpupoolConfig } from '../config/index.js';
import { closeDeviceProviders, openDeviceProviders, snapshotDevices, type SkippedSource } from '../devices/index.js';
import { isGpupoolError } from '../errors/index.js';
import { checkDrivers } from './check-drivers.js';
import { checkFit } from './check-fit.js';
import { checkPorts, type PortToCheck } from './check-ports.js';
import { checkStrays } from './check-strays.js';
import { checkVisibility } from './check-visibility.js';
import type { DoctorEnv, Finding } from './doctor-finding.js';

export interface DoctorOptions {
  /** Tool overrides and visibility variables are read from it. @defaultValue `process.env` */
  readonly env?: DoctorEnv;
  /** `-c`: the config to check; a file that does not load is itself a finding. */
  readonly configFile?: string;
  /** An already loaded config (embedding, tests); `configFile` wins. */
  readonly config?: GpupoolConfig;
  /** `-m`: the models to check. @defaultValue every model of the config */
  readonly models?: readonly string[];
  /** `--devices`: overrides the models' `devices:`, as for `gpupool run`. */
  readonly devices?: string;
  /** `--port`: ports gpupool will listen on. */
  readonly ports?: readonly number[];
  /** `--host` those ports are checked on. @defaultValue `0.0.0.0` */
  readonly host?: string;
  /** @defaultValue `/proc` */
  readonly procRoot?: string;
}

export interface DoctorReport {
  readonly findings: readonly Finding[];
  readonly errors: number;
  readonly warnings: number;
}

/**
 * `gpupool doctor`: the machine and the config, checked the way `gpupool run` would meet
 * them: drivers and NVML, visibility variables, each model's command, devices and memory
 * fit, the ports to listen on, and strays of any running gpupool.
 */
export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const env = options.env ?? process.env;
  const findings: Finding[] = [];
  let config = options.config;
  if (options.configFile !== undefined) {
    try {
      config = loadConfig(options.configFile);
    } catch (err) {
      if (!isGpupoolError(err)) throw err;
      findings.push({ check: 'config', level: 'error', message: err.message, fix: err.remedy });
    }
  }
  const models = config ? knownModels(config, options.models, findings) : undefined;

  const skipped: SkippedSource[] = [];
  const providers = await openDeviceProviders({ env }, skipped);
  try {
    const snapshots = await snapshotDevices(providers, options.procRoot === undefined ? {} : { procRoot: options.procRoot });
    const devices = snapshots.map((s) => s.device);
    const samples = snapshots.flatMap((s) => (s.sample ? [s.sample] : []));
    findings.push(...checkDrivers(providers, devices, skipped, env));
    findings.push(...checkVisibility(devices, env, config, models, options.devices));
    const ports: PortToCheck[] = (options.ports ?? []).map((port) => ({ port, host: options.host, for: '--port' }));
    if (config) {
      const fit = checkFit(config, devices, samples, env, models, options.devices);
      findings.push(...fit.findings);
      ports.push(...replicaPorts(config, fit.workers, options.host));
    }
    findings.push(...(await checkPorts(ports)));
    findings.push(...(await checkStrays(snapshots, options.procRoot)));
  } finally {
    await closeDeviceProviders(providers);
  }
  return {
    findings,
    errors: findings.filter((f) => f.level === 'error').length,
    warnings: findings.filter((f) => f.level === 'warn').length,
  };
}

function knownModels(config: GpupoolConfig, asked: readonly string[] | undefined, findings: Finding[]): string[] {
  const names = Object.keys(config.models);
  if (!asked) return names;
  for (const name of asked.filter((n) => !names.includes(n))) {
    findings.push({ check: 'config', level: 'error', message: `unknown model "${name}"; the config defines: ${names.join(', ')}`, fix: 'Use one of the model names defined under `models:` in the config.' });
  }
  return asked.filter((n) => names.includes(n));
}

/** `kind: http` models with `http.port_base`: replica i listens on port_base + i. */
function replicaPorts(config: GpupoolConfig, workers: ReadonlyMap<string, number>, host?: string): PortToCheck[] {
  const ports: PortToCheck[] = [];
  for (const [name, count] of workers) {
    const model = config.models[name];
    const base = model.kind === 'http' ? model.http.port_base : undefined;
    if (base === undefined) continue;
    for (let i = 0; i < count; i++) ports.push({ port: base + i, host, for: `model "${name}" replica ${i}` });
  }
  return ports;
}
