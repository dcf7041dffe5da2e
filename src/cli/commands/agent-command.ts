import type { Command } from 'commander';
import type { OnStray } from '../../audit/index.js';
import { loadConfig } from '../../config/index.js';
import type { PoolEvent } from '../../pool/index.js';
import { describePoolEvent } from '../describe-pool-event.js';
import { onStrayOption, parsePositiveInt } from '../parse-flags.js';

interface AgentFlags {
  config: string;
  redis: string;
  model?: string[];
  devices?: string;
  prefix: string;
  name?: string;
  prefetch?: number;
  logDir?: string;
  verbose?: boolean;
  onStray: OnStray;
}

function describeEvent(e: PoolEvent): string | undefined {
  switch (e.type) {
    case 'worker-gave-up':
    case 'placement-mismatch':
    case 'model-down':
    case 'release-unanswered':
      return e.message;
    case 'worker-crashed':
    case 'stray':
    case 'stray-cleared':
      return describePoolEvent(e);
    default:
      return undefined;
  }
}

export function registerAgentCommand(program: Command): void {
  program
    .command('agent')
    .description("run this machine's pool and take chunks of the jobs in Redis for its models; Ctrl-C drains")
    .requiredOption('-c, --config <file>', 'YAML config (the models this agent runs)')
    .requiredOption('--redis <url>', 'redis://[:password@]host:port[/db], or rediss:// for TLS')
    .option('-m, --model <name...>', 'models to run (default: every kind: process model of the config)')
    .option('--devices <spec>', 'all, cpu, indices (6,7) or UUIDs; overrides the config')
    .option('--prefix <name>', 'namespace of the queues in Redis', 'gpupool')
    .option('--name <name>', 'how status shows this agent (default: <hostname>-<pid>)')
    .option('--prefetch <n>', 'chunks held at once per job (default: enough for twice what the workers take)', parsePositiveInt('--prefetch'))
    .option('--log-dir <dir>', 'per-worker logs (default: <tmpdir>/gpupool-agent-<name>)')
    .addOption(onStrayOption())
    .option('-v, --verbose', 'echo worker output to the terminal, prefixed')
    .action(async (flags: AgentFlags) => {
      const log = (line: string): void => void process.stderr.write(`gpupool agent: ${line}\n`);
      // Loaded here, not at startup: BullMQ is only for the cluster commands.
      const { Agent } = await import('../../cluster/index.js');
      // Ctrl-C (or SIGTERM) while the models load stops the start: its workers are killed, not
      // left loading on their own as they were when the signal's default action ended the agent.
      const starting = new AbortController();
      const stopStart = (): void => {
        if (!starting.signal.aborted) log('stopping: the models were still loading; their workers are stopped');
        starting.abort();
      };
      process.on('SIGINT', stopStart);
      process.on('SIGTERM', stopStart);
      const agent = await Agent.start({
        config: loadConfig(flags.config),
        redisUrl: flags.redis,
        prefix: flags.prefix,
        models: flags.model,
        devices: flags.devices,
        name: flags.name,
        prefetch: flags.prefetch,
        logDir: flags.logDir,
        onStray: flags.onStray,
        echo: flags.verbose ? process.stderr : undefined,
        log,
        onEvent: (e) => {
          const line = describeEvent(e);
          if (line) log(line);
        },
        startSignal: starting.signal,
      }).finally(() => {
        process.off('SIGINT', stopStart);
        process.off('SIGTERM', stopStart);
      });
      let interrupts = 0;
      const stopped = new Promise<number>((resolve) => {
        const onSignal = (): void => {
          if (interrupts++ === 0) {
            log('draining: chunks in hand finish and their results are sent; press Ctrl-C again to stop at once');
            void agent.drain().then(() => resolve(0));
          } else {
            log('stopping at once: chunks in hand go to other agents once their locks expire');
            void agent.destroy().then(() => resolve(130));
          }
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        // Asked to stop after the models had loaded, while the agent joined: it drains now.
        if (starting.signal.aborted) onSignal();
      });
      // Said once Ctrl-C drains: a supervisor (or a test) that stops the agent as soon as it reads
      // this line must not find the signal's default action, which killed it without a drain.
      const info = agent.info();
      log(`${agent.id} ready: ${Object.keys(info.capacity).join(', ')} on ${info.devices.map((d) => d.key).join(', ')} (${info.workers.length} workers); waiting for jobs`);
      const fatal = agent.onFatal().then(async (err) => {
        await agent.destroy();
        throw err;
      });
      process.exitCode = await Promise.race([stopped, fatal]);
      log('stopped');
    });
}
