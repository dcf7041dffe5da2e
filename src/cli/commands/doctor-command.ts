import type { Command } from 'commander';
import { GpupoolError } from '../../errors/index.js';

interface DoctorFlags {
  config?: string;
  model?: string[];
  devices?: string;
  port?: number[];
  host?: string;
  json?: boolean;
}

function collectPort(value: string, previous: number[] = []): number[] {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new GpupoolError('GPUPOOL_E_USAGE', `--port must be an integer from 1 to 65535, got "${value}"`);
  }
  return [...previous, port];
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `gpupool doctor`: exit status 1 when something is wrong (an `error` finding), else 0. */
export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('check drivers, visibility variables, the config (fit, commands) and ports; print what is wrong and how to fix it')
    .option('-c, --config <file>', 'YAML config to check against this machine')
    .option('-m, --model <name>', 'check only this model (repeatable)', collect)
    .option('--devices <spec>', 'as for run: overrides the models\' devices')
    .option('--port <n>', 'a port gpupool will listen on (repeatable)', collectPort)
    .option('--host <address>', 'the address those ports are checked on', '0.0.0.0')
    .option('--json', 'print {findings, errors, warnings} as JSON')
    .action(async (flags: DoctorFlags) => {
      const { renderFindings, runDoctor } = await import('../../doctor/index.js');
      const report = await runDoctor({
        configFile: flags.config,
        models: flags.model,
        devices: flags.devices,
        ports: flags.port,
        host: flags.host,
      });
      const color = Boolean((process.stdout as { isTTY?: boolean }).isTTY) && process.env.NO_COLOR === undefined;
      process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : renderFindings(report, { color }));
      process.exitCode = report.errors > 0 ? 1 : 0;
    });
}
