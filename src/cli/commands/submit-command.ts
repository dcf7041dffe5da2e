import type { Command } from 'commander';
import { loadConfig, parseDuration } from '../../config/index.js';
import { GpupoolError } from '../../errors/index.js';
import { listenForInterrupts } from '../interrupt-signals.js';
import { exitWithHeldBack } from '../report-held-back.js';
import { refuseExtraArguments } from '../single-values.js';
import { parseChoice, parsePositiveInt } from '../parse-flags.js';

interface SubmitFlags {
  config: string;
  redis: string;
  input: string;
  output: string;
  model?: string;
  prefix: string;
  job?: string;
  chunkSize?: number;
  maxChunks?: number;
  lockDuration?: number;
  journal: 'sqlite' | 'redis';
  fresh?: boolean;
  stateDir?: string;
  costField?: string;
  progress?: 'tty' | 'plain' | 'none';
  json?: boolean;
}

function parseLockDuration(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || !Number.isInteger(ms) || ms < 100) {
    throw new GpupoolError('GPUPOOL_E_USAGE', `--lock-duration must be a duration of at least 100ms (e.g. 30s, 2m), got "${value}"`);
  }
  return ms;
}

export function registerSubmitCommand(program: Command): void {
  program
    .command('submit')
    .description('share a job with the agents on a Redis: input in chunks, results into OUTPUT; resumable')
    .requiredOption('-c, --config <file>', 'YAML config (the model; agents run a model of the same name)')
    .requiredOption('--redis <url>', 'redis://[:password@]host:port[/db], or rediss:// for TLS')
    .requiredOption('-i, --input <path>', 'JSONL file, directory, glob, or - for stdin')
    .requiredOption('-o, --output <file>', 'output JSONL (results in the order they come back)')
    .option('-m, --model <name>', 'model to run (may be left out when the config has one)')
    .option('--prefix <name>', 'namespace of the queues in Redis', 'gpupool')
    .option('--job <name>', "the job's name in Redis (default: <model>-<hash of the model, its command, the input and the output>)")
    .option('--chunk-size <n>', 'items per chunk (default 256): one chunk goes to one agent, its items batched together', parsePositiveInt('--chunk-size'))
    .option('--max-chunks <n>', 'chunks out at once (default: twice what the live agents hold, at least 4)', parsePositiveInt('--max-chunks'))
    .option('--lock-duration <time>', "how long a chunk stays with an agent that stopped renewing its lock (killed) before another takes it (default 30s)", parseLockDuration)
    .option('--journal <where>', 'sqlite: beside the output, like run; redis: in Redis, readable by status from anywhere', parseChoice('--journal', ['sqlite', 'redis'] as const), 'sqlite')
    .option('--fresh', "forget the journal and the job's chunks in Redis; start over")
    .option('--state-dir <dir>', 'folder of the SQLite journal (default: <output dir>/.gpupool/<output name>)')
    .option('--cost-field <name>', "input field holding an item's cost")
    .option('--progress <mode>', 'tty, plain or none', parseChoice('--progress', ['tty', 'plain', 'none'] as const))
    .option('--json', 'print the summary as JSON on stdout')
    // Refused by name below, rather than as "too many arguments": most are a glob the shell expanded.
    .allowExcessArguments(true)
    .action(async (flags: SubmitFlags, command: Command) => {
      refuseExtraArguments('submit', command.args);
      // submitJob says what the first one does: drain, or, with no live agent to answer, stop.
      const interrupts = listenForInterrupts();
      // Loaded here, not at startup: BullMQ is only for the cluster commands.
      const { submitJob } = await import('../../cluster/index.js');
      const summary = await submitJob({
        config: loadConfig(flags.config),
        model: flags.model,
        input: flags.input,
        output: flags.output,
        redisUrl: flags.redis,
        prefix: flags.prefix,
        jobName: flags.job,
        chunkSize: flags.chunkSize,
        maxChunks: flags.maxChunks,
        lockDurationMs: flags.lockDuration,
        journal: flags.journal,
        fresh: flags.fresh,
        stateDir: flags.stateDir,
        costField: flags.costField,
        progress: flags.progress,
        drainSignal: interrupts.drain,
        killSignal: interrupts.kill,
        log: (line) => void process.stderr.write(`gpupool: ${line}\n`),
      });
      interrupts.dispose();
      if (flags.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
      if (summary.outcome === 'interrupted') process.exitCode = 130;
      else process.exitCode = exitWithHeldBack(flags.input, summary.heldBack, summary);
    });
}
