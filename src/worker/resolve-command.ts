import fs from 'node:fs';
import path from 'node:path';
import { GpupoolError } from '../errors/index.js';

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * Checks that a worker command can start, before any process is spawned, so a typo is one
 * clear error instead of N crashed workers. Relative paths resolve against `cwd` (the config's folder).
 */
export function resolveCommand(command: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const program = command[0];
  if (program.includes('/')) {
    const abs = path.resolve(cwd, program);
    if (!isExecutable(abs)) {
      throw new GpupoolError('GPUPOOL_E_COMMAND_NOT_FOUND', `worker command "${program}" (${abs}) does not exist or is not executable`);
    }
    return abs;
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, program))) return path.join(dir, program);
  }
  throw new GpupoolError('GPUPOOL_E_COMMAND_NOT_FOUND', `worker command "${program}" was not found on PATH`);
}
