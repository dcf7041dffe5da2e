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

/** Programs whose first argument, unless an option, is the script they run. */
const INTERPRETER = /^(python[0-9.]*|pypy[0-9.]*|node|nodejs|bash|sh|zsh|perl|ruby|Rscript)$/;

/**
 * Checks that a worker command can start, before any process is spawned, so a typo is one
 * clear error instead of N crashed workers. Relative paths resolve against `cwd` (the config's
 * folder). The script an interpreter is given (`[python3, worker.py]`) must exist too: a missing
 * one was a worker that failed to start (python's "can't open file"), told apart from a worker
 * that dies in its setup only by reading its log.
 */
export function resolveCommand(command: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const program = findProgram(command[0], cwd, env);
  const script = command[1];
  const interpreter = path.basename(program);
  if (INTERPRETER.test(interpreter) && script !== undefined && !script.startsWith('-')) {
    const abs = path.resolve(cwd, script);
    if (!scriptFound(interpreter, abs, script, env)) {
      throw new GpupoolError('GPUPOOL_E_COMMAND_NOT_FOUND', `worker script "${script}" (${abs}) does not exist: ${interpreter} would exit at once (paths in \`command\` are relative to the config's folder)`);
    }
  }
  return program;
}

/**
 * Whether `interpreter` would find its script: the file (or folder: a Python package with
 * `__main__.py`), and where the interpreter looks further itself: node resolves its main
 * module as CommonJS does (`node serve` runs serve.js), and bash looks a name without a slash
 * up on PATH when it is not in the working folder (sh and zsh are given the same benefit of the
 * doubt: a miss there is the failed start it was before).
 */
function scriptFound(interpreter: string, abs: string, script: string, env: NodeJS.ProcessEnv): boolean {
  if (fs.existsSync(abs)) return true;
  if (/^node(js)?$/.test(interpreter)) return ['.js', '.json', '.node'].some((ext) => fs.existsSync(abs + ext));
  if (/^(bash|sh|zsh)$/.test(interpreter) && !script.includes('/')) {
    return onPath(script, env, fs.existsSync) !== undefined;
  }
  return false;
}

function findProgram(program: string, cwd: string, env: NodeJS.ProcessEnv): string {
  if (program.includes('/')) {
    const abs = path.resolve(cwd, program);
    if (!isExecutable(abs)) {
      throw new GpupoolError('GPUPOOL_E_COMMAND_NOT_FOUND', `worker command "${program}" (${abs}) does not exist or is not executable`);
    }
    return abs;
  }
  const found = onPath(program, env, isExecutable);
  if (found === undefined) throw new GpupoolError('GPUPOOL_E_COMMAND_NOT_FOUND', `worker command "${program}" was not found on PATH`);
  return found;
}

/** The first `name` in a folder of PATH that passes `test`, or undefined. */
function onPath(name: string, env: NodeJS.ProcessEnv, test: (file: string) => boolean): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir && test(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}
