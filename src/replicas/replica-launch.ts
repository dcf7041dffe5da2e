import type { ModelConfig } from '../config/index.js';
import type { Device } from '../devices/device.js';
import { formatCpuList, pinningEnv } from '../devices/index.js';
import { GpupoolError } from '../errors/index.js';

/** Where a `kind: http` command takes the port gpupool chose for the replica. */
export const PORT_PLACEHOLDER = '{port}';

/**
 * A `kind: http` model must say where its server takes its port: `{port}` in `command`
 * (`--port {port}`, `--bind=0.0.0.0:{port}`) or in an `env` value (`PORT: "{port}"`).
 * Checked before anything starts, so the mistake is one clear error rather than N replicas
 * that never answer their health path.
 */
export function checkReplicaCommand(model: ModelConfig): void {
  if (model.kind !== 'http') {
    throw new GpupoolError('GPUPOOL_E_CONFIG', `model "${model.name}" has \`kind: ${model.kind}\`; only \`kind: http\` models run as replicas behind the proxy.`);
  }
  const inCommand = model.command.some((a) => a.includes(PORT_PLACEHOLDER));
  const inEnv = Object.values(model.env).some((v) => v.includes(PORT_PLACEHOLDER));
  if (!inCommand && !inEnv) {
    throw new GpupoolError(
      'GPUPOOL_E_CONFIG',
      `\`models.${model.name}.command\` of a \`kind: http\` model must contain "${PORT_PLACEHOLDER}" where the server takes its port (e.g. [python3, server.py, --port, "${PORT_PLACEHOLDER}"]), or an \`env\` value must; got ${JSON.stringify(model.command)}.`,
    );
  }
}

/** The argv with every `{port}` replaced; `program` is the resolved argv[0]. */
export function replicaArgv(program: string, command: readonly string[], port: number): string[] {
  return [program, ...command.slice(1)].map((a, i) => (i === 0 ? a : a.replaceAll(PORT_PLACEHOLDER, String(port))));
}

/**
 * A replica's environment: the vendor's pinning variables (so the server's framework sees
 * only its card, as device 0), `GPUPOOL_WORKER_ID` (so `gpupool devices` names it as ours
 * and checks it sits on the card its id names), `GPUPOOL_PORT`, `GPUPOOL_CPUS` (`cpus: auto`), then the model's `env:`,
 * with `{port}` substituted, last.
 */
export function replicaEnv(model: ModelConfig, devices: readonly Device[], replicaId: string, port: number, base: NodeJS.ProcessEnv, cpus?: readonly number[]): NodeJS.ProcessEnv {
  const own = Object.fromEntries(Object.entries(model.env).map(([k, v]) => [k, v.replaceAll(PORT_PLACEHOLDER, String(port))]));
  return {
    ...base,
    ...pinningEnv(devices),
    GPUPOOL_WORKER_ID: replicaId,
    GPUPOOL_MODEL: model.name,
    // Read back from /proc by the stray audit and `gpupool devices`: whose replica, and its budget.
    GPUPOOL_POOL_PID: String(process.pid),
    ...(model.memory.limit === undefined ? {} : { GPUPOOL_MEMORY_LIMIT: String(model.memory.limit) }),
    GPUPOOL_PORT: String(port),
    ...(cpus === undefined ? {} : { GPUPOOL_CPUS: formatCpuList(cpus) }),
    PYTHONUNBUFFERED: '1',
    ...own,
  };
}
