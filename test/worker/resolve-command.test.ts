// A worker command is checked before any process starts: its program, and the script an
// interpreter is given, so a typo is GPUPOOL_E_COMMAND_NOT_FOUND naming the file.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { GpupoolError } from '../../src/errors/index.js';
import { resolveCommand } from '../../src/worker/index.js';
import { tempDir } from '../helpers/cli.js';

const notFound = (pattern: RegExp) => (err: unknown) => err instanceof GpupoolError && err.code === 'GPUPOOL_E_COMMAND_NOT_FOUND' && pattern.test(err.message);

test('an interpreter\'s script must exist, relative to the config\'s folder; options, -m and -c are not scripts', () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'worker.py'), '');
  fs.mkdirSync(path.join(dir, 'pkg'));
  for (const command of [['python3', 'worker.py'], ['python3', path.join(dir, 'worker.py')], ['python3', 'pkg'], ['python3', '-m', 'no_such_module'], ['bash', '-c', 'exit 0'], ['node', '--import', 'tsx', 'nothing.ts'], ['python3']]) {
    assert.ok(resolveCommand(command, dir).endsWith(command[0]), command.join(' '));
  }
  assert.throws(() => resolveCommand(['python3', 'wroker.py'], dir), notFound(/^worker script "wroker\.py" \(.*\/wroker\.py\) does not exist: python3 would exit at once/));
  assert.throws(() => resolveCommand(['node', 'serve.mjs'], dir), notFound(/worker script "serve\.mjs"/));
  assert.throws(() => resolveCommand(['no-such-program-here', 'worker.py'], dir), notFound(/worker command "no-such-program-here" was not found on PATH/));
});

test('a script the interpreter finds itself is taken: node adds .js (`node worker` runs worker.js), bash looks on PATH', () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'serve.js'), '');
  assert.ok(resolveCommand(['node', 'serve'], dir).endsWith('node'));
  const bin = tempDir();
  fs.writeFileSync(path.join(bin, 'start-worker.sh'), 'exec python3 worker.py\n');
  const bash = resolveCommand(['bash'], '/');
  const env = { PATH: `${path.dirname(bash)}${path.delimiter}${bin}` };
  assert.ok(resolveCommand(['bash', 'start-worker.sh'], dir, env).endsWith('bash'));
  // Still refused: no such file anywhere bash looks, and a path with a slash is never looked up on PATH.
  assert.throws(() => resolveCommand(['bash', 'no-such.sh'], dir, env), notFound(/worker script "no-such\.sh"/));
  assert.throws(() => resolveCommand(['bash', './start-worker.sh'], dir, env), notFound(/worker script "\.\/start-worker\.sh"/));
  assert.throws(() => resolveCommand(['node', 'serve.mjs'], dir), notFound(/worker script "serve\.mjs"/));
});
