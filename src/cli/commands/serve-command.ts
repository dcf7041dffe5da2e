import type { Command } from 'commander';
import type { OnStray } from '../../audit/index.js';
import { formatBytes, loadConfig, parseBytes, parseDuration } from '../../config/index.js';
import { GpupoolError, isGpupoolError } from '../../errors/index.js';
import { describePoolEvent } from '../describe-pool-event.js';
import { onStrayOption, parsePositiveInt } from '../parse-flags.js';

interface ServeFlags {
  config: string;
  host: string;
  port: number;
  token?: string;
  allowRoot: string[];
  stateDir?: string;
  devices?: string;
  maxQueued?: number;
  requestTimeout?: number;
  bodyLimit?: number;
  maxInputs?: number;
  onStray: OnStray;
  verbose?: boolean;
  json?: boolean;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new GpupoolError('GPUPOOL_E_USAGE', `--port must be an integer in 0..65535 (0 picks a free port), got "${value}"`);
  return n;
}

function parseDurationFlag(flag: string) {
  return (value: string): number => {
    const ms = parseDuration(value);
    if (ms === undefined || ms <= 0) throw new GpupoolError('GPUPOOL_E_USAGE', `${flag} must be a duration like "30s" or "500ms", got "${value}"`);
    return ms;
  };
}

function parseSizeFlag(flag: string) {
  return (value: string): number => {
    const b = parseBytes(value);
    if (b === undefined || b < 1) throw new GpupoolError('GPUPOOL_E_USAGE', `${flag} must be a size like "16MiB" or a number of bytes, got "${value}"`);
    return b;
  };
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('an HTTP service over the pool: online inference with dynamic batching, batch jobs, a live dashboard and metrics')
    .requiredOption('-c, --config <file>', 'YAML config')
    .option('--host <address>', 'address to bind; anything but loopback requires --token', '127.0.0.1')
    .option('--port <n>', 'port to listen on; 0 picks a free one', parsePort, 8000)
    .option('--token <token>', 'require `Authorization: Bearer <token>` on every request (default: $GPUPOOL_TOKEN)')
    .option('--allow-root <dir>', 'a folder whose files jobs may name by server-side path (repeatable)', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--state-dir <dir>', 'jobs, their journals and results, learned limits, worker logs', '.gpupool/serve')
    .option('--devices <spec>', 'all, cpu, indices (6,7) or UUIDs; overrides the config')
    .option('--max-queued <n>', 'items of online requests queued or running per model; past it 429 (default: max(1024, 4 × worker capacity))', parsePositiveInt('--max-queued'))
    .option('--request-timeout <duration>', 'deadline of an infer request (a request may ask for less)', parseDurationFlag('--request-timeout'))
    .option('--body-limit <size>', 'largest request body', parseSizeFlag('--body-limit'))
    .option('--max-inputs <n>', 'most inputs in one infer request', parsePositiveInt('--max-inputs'))
    .addOption(onStrayOption())
    .option('-v, --verbose', 'echo worker output, prefixed, and log each request')
    .option('--json', 'print {"event": "listening" | "ready", …} lines on stdout')
    .action(async (flags: ServeFlags) => {
      // Loaded here, not at the top: `gpupool run` must not carry the HTTP stack's memory.
      const { startServer } = await import('../../serve/index.js');
      const handle = await startServer({
        config: loadConfig(flags.config),
        host: flags.host,
        port: flags.port,
        token: flags.token ?? process.env.GPUPOOL_TOKEN,
        allowRoots: flags.allowRoot,
        stateDir: flags.stateDir,
        devices: flags.devices,
        maxQueued: flags.maxQueued,
        requestTimeoutMs: flags.requestTimeout,
        bodyLimit: flags.bodyLimit,
        maxInputsPerRequest: flags.maxInputs,
        onStray: flags.onStray,
        echo: flags.verbose ? process.stderr : undefined,
        logRequests: flags.verbose,
        onEvent: (e) => {
          const line = describePoolEvent(e);
          if (line) process.stderr.write(`gpupool: ${line}\n`);
        },
      });
      const say = (event: string, fields: Record<string, unknown>, human: string) => {
        if (flags.json) process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
        process.stderr.write(`gpupool: ${human}\n`);
      };
      let signals = 0;
      const stopped = new Promise<void>((resolve) => {
        const onSignal = () => {
          if (++signals > 1) process.exit(130);
          process.stderr.write('\ngpupool: shutting down (requests in flight finish, jobs commit and resume next start); press Ctrl-C again to stop at once\n');
          void handle.close().then(resolve);
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      });
      // Said once Ctrl-C shuts down cleanly: one who stops the server as soon as it reads this line
      // must not meet the signal's default action (killed, jobs not committed).
      say('listening', { url: handle.url }, `listening on ${handle.url} (dashboard ${handle.url}/, body limit ${formatBytes(handle.core.options.bodyLimit)})`);
      try {
        await handle.ready;
      } catch (err) {
        await handle.close();
        // Shut down while its models loaded (the start was stopped): a stop asked for, as after ready.
        if (signals > 0 && isGpupoolError(err) && err.code === 'GPUPOOL_E_INTERRUPTED') {
          process.stderr.write('gpupool: stopped before the models were ready\n');
          return;
        }
        throw err;
      }
      const { core } = handle;
      const workers = core.pool?.workers.length ?? 0;
      const replicas = core.httpModels?.replicas() ?? [];
      const described = [
        ...[...core.models.values()].map((m) => `${m.name} (${m.workers.length} worker${m.workers.length === 1 ? '' : 's'})`),
        ...core.httpModelNames.map((name) => `${name} (${replicas.filter((r) => r.model === name).length} replicas, kind: http)`),
      ];
      say('ready', { models: [...core.models.keys(), ...core.httpModelNames], workers, replicas: replicas.length }, `ready: ${described.join(', ')}`);
      await stopped;
      // As the agent ends: a supervisor's log shows that the shutdown finished, not only that it began.
      process.stderr.write('gpupool: stopped\n');
    });
}
