import fs from 'node:fs';
import type { Command } from 'commander';
import type { OnStray } from '../../audit/index.js';
import { loadConfig } from '../../config/index.js';
import { ERROR_CODES, GpupoolError } from '../../errors/index.js';
import { runJob, SHARD_RULES, type RunOptions, type ShardRule } from '../../run/index.js';
import { describePoolEvent } from '../describe-pool-event.js';
import { listenForInterrupts } from '../interrupt-signals.js';
import { exitWithHeldBack } from '../report-held-back.js';
import { refuseExtraArguments } from '../single-values.js';
import { onStrayOption, parseChoice, parsePositiveInt, parseShard } from '../parse-flags.js';

interface RunFlags {
  config: string;
  input: string;
  output: string;
  model?: string;
  devices?: string;
  maxPending?: number;
  shard?: { index: number; count: number };
  shardBy?: ShardRule;
  onError: 'continue' | 'stop';
  fresh?: boolean;
  stateDir?: string;
  costField?: string;
  verbose?: boolean;
  progress?: 'tty' | 'plain' | 'none';
  json?: boolean;
  onStray: OnStray;
}

/** `--shard` with its rule; `--shard-by` alone is a usage error (it would shard nothing). */
function shardOf(flags: RunFlags): RunOptions['shard'] {
  if (flags.shardBy !== undefined && flags.shard === undefined) throw new GpupoolError('GPUPOOL_E_USAGE', `--shard-by ${flags.shardBy} goes with --shard I/N, which was not given`);
  return flags.shard && { ...flags.shard, by: flags.shardBy ?? 'position' };
}

/** `GPUPOOL_AUDIT_RECORD=<file>`: every audit sample and its findings, one JSON line each (to record fixtures on a GPU host). */
function auditRecorder(file: string | undefined): RunOptions['onAuditSample'] {
  if (!file) return undefined;
  return (sample, findings) => fs.appendFileSync(file, `${JSON.stringify({ sample, findings })}\n`);
}

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run a model over a stream of inputs on every chosen device; resumable')
    .requiredOption('-c, --config <file>', 'YAML config')
    .requiredOption('-i, --input <path>', 'JSONL file, directory, glob, or - for stdin')
    .requiredOption('-o, --output <file>', 'output JSONL (results in the order they finish)')
    .option('-m, --model <name>', 'model to run (may be left out when the config has one)')
    .option('--devices <spec>', 'all, cpu, indices (6,7) or UUIDs; overrides the config')
    .option('--max-pending <n>', 'items read but not yet written; reading pauses at this', parsePositiveInt('--max-pending'))
    .option('--shard <I/N>', 'only the items whose position modulo N is I', parseShard)
    .option('--shard-by <rule>', 'position, or name: a folder\'s files by a hash of their names, whatever each shard listed', parseChoice('--shard-by', SHARD_RULES))
    .option('--on-error <mode>', 'continue: write a failed line and go on; stop: stop at the first', parseChoice('--on-error', ['continue', 'stop'] as const), 'continue')
    .option('--fresh', 'ignore the journal and start over')
    .option('--state-dir <dir>', 'where the journal and worker logs live (default: <output dir>/.gpupool/<output name>)')
    .option('--cost-field <name>', 'input field holding an item\'s cost')
    .option('--progress <mode>', 'tty, plain or none', parseChoice('--progress', ['tty', 'plain', 'none'] as const))
    .option('-v, --verbose', 'echo worker output to the terminal, prefixed')
    .option('--json', 'print the summary as JSON on stdout')
    .addOption(onStrayOption())
    // Refused by name below, rather than as "too many arguments": most are a glob the shell expanded.
    .allowExcessArguments(true)
    .action(async (flags: RunFlags, command: Command) => {
      refuseExtraArguments('run', command.args);
      const interrupts = listenForInterrupts('draining (in-flight batches finish)');
      const summary = await runJob({
        config: loadConfig(flags.config),
        model: flags.model,
        input: flags.input,
        output: flags.output,
        devices: flags.devices,
        maxPending: flags.maxPending,
        shard: shardOf(flags),
        onError: flags.onError,
        fresh: flags.fresh,
        stateDir: flags.stateDir,
        costField: flags.costField,
        verbose: flags.verbose,
        progress: flags.progress,
        drainSignal: interrupts.drain,
        killSignal: interrupts.kill,
        onStray: flags.onStray,
        onAuditSample: auditRecorder(process.env.GPUPOOL_AUDIT_RECORD),
        onEvent: (e) => {
          const line = describePoolEvent(e);
          if (line) process.stderr.write(`gpupool: ${line}\n`);
        },
      });
      interrupts.dispose();
      if (flags.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
      if (summary.outcome === 'complete' && summary.done + summary.failed + summary.resumed === 0 && flags.shard === undefined && !summary.heldBack) {
        // Not an error (an empty batch is a batch), but most likely not what was meant.
        process.stderr.write(`gpupool: warning: the input ${JSON.stringify(flags.input)} holds no inputs (an empty file, a folder without files, or a glob that matched nothing)\n`);
      }
      const stop = summary.stoppedBy;
      if (summary.outcome === 'interrupted') process.exitCode = 130; // a Ctrl-C after the stop says the last word
      else if (stop) {
        // Why it stopped, and with the exit status of that failure's code (9 for a malformed line).
        process.stderr.write(`gpupool: stopped at the first failure (--on-error stop): item ${JSON.stringify(stop.id)}: ${stop.shownCode}: ${stop.message}; what was read and not done is left for the same command to resume\n`);
        process.exitCode = ERROR_CODES[stop.code].exitCode;
      } else if (summary.outcome !== 'complete') process.exitCode = 1;
      else process.exitCode = exitWithHeldBack(flags.input, summary.heldBack, summary);
    });
}
