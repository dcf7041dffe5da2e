#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { ERROR_CODES, isGpupoolError } from '../errors/index.js';
import { reportError } from './cli-errors.js';
import { registerDevicesCommand } from './commands/devices-registration.js';
import { registerDoctorCommand } from './commands/doctor-command.js';
import { registerRunCommand } from './commands/run-command.js';
import { registerStatusCommand } from './commands/status-command.js';
import { registerAgentCommand } from './commands/agent-command.js';
import { registerSubmitCommand } from './commands/submit-command.js';
import { registerServeCommand } from './commands/serve-command.js';
import { registerInferCommand } from './commands/infer-command.js';
import { refuseRepeatedOptions } from './single-values.js';
import { watchStdoutClosed } from './stdout-closed.js';
import { capYoungGeneration, youngGenerationCapMb } from './young-generation-cap.js';

watchStdoutClosed();

const program = new Command()
  .name('gpupool')
  .description('Run ML models on every accelerator of a machine: resident pinned workers, bounded memory, adaptive batches, nothing lost.')
  .version('0.1.0')
  .exitOverride()
  // The argument parser's own errors (an unknown option, a missing one) in the shape of every other.
  .configureOutput({ outputError: (str, write) => write(`gpupool: GPUPOOL_E_USAGE: ${str.replace(/^error: /, '')}  remedy: ${ERROR_CODES.GPUPOOL_E_USAGE.remedy}\n`) });

registerRunCommand(program);
registerDevicesCommand(program);
registerDoctorCommand(program);
registerStatusCommand(program);
registerAgentCommand(program);
registerSubmitCommand(program);
registerServeCommand(program);
registerInferCommand(program);
refuseRepeatedOptions(program);

// Before a command runs, not before parsing: --help and --version work whatever the environment.
program.hook('preAction', () => {
  const youngMb = youngGenerationCapMb();
  if (youngMb > 0) capYoungGeneration(youngMb * 1024 * 1024);
});

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else {
    const code = reportError(err, process.argv.includes('--json'));
    process.exitCode = code;
    // A bug (not an error raised on purpose) may leave workers, timers and a progress line
    // running, in a state no one can stop cleanly: the run would never end. Exit once what was
    // written to stdout and the line on stderr are out (a pipe is written asynchronously);
    // workers exit at the end of their stream, and a journal resumes as after a kill.
    if (!isGpupoolError(err)) process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
  }
}
