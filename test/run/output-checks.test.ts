// `-o` is checked before the journal is opened or any worker starts: a folder, a pipe, a device
// or the input file itself is refused by name, and a folder that cannot be made (procfs) is an
// error, not a spin. A write that fails later is the same code, naming the file.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { pyWorker, readOutput, runCli, tempDir, writeConfig, writeJsonl } from '../helpers/cli.js';

test('an output that is a folder, a pipe, a device, the input itself, or under /proc is refused before any worker starts; the input is untouched', async () => {
  const dir = tempDir();
  // A worker that fails in setup: reaching it would be exit 6, GPUPOOL_E_WORKER_START.
  const cfg = writeConfig(dir, `models:\n  echo:\n    command: ${pyWorker('setup_fail_worker.py')}\n    devices: cpu\n`);
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 3);
  const before = fs.readFileSync(input);
  const fifo = path.join(dir, 'fifo');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
  fs.symlinkSync(input, path.join(dir, 'link.jsonl'));
  const cases: [string, RegExp][] = [
    [dir, /-o .* is a folder: pass the path of a file \(it is made if missing\)/],
    [input, /-o .*in\.jsonl is the input file .*in\.jsonl: the results would overwrite it; pass another path/],
    [path.join(dir, 'link.jsonl'), /-o .*link\.jsonl is the input file/],
    [fifo, /-o .*fifo is not a regular file \(a pipe or a device\)/],
    ['/dev/null', /-o \/dev\/null is not a regular file/],
    ['', /-o needs the path of a file, got ""/],
    // procfs answers ENOENT to a mkdir: Node's recursive mkdir retried it for ever at 100% CPU.
    ['/proc/version', /cannot make the folder \/proc\/\.gpupool\/version for the journal \(--state-dir\): ENOENT: no such file or directory, mkdir '\/proc\/\.gpupool'/],
  ];
  for (const [output, message] of cases) {
    const r = await runCli(['run', '-c', cfg, '-i', input, '-o', output, '--progress', 'none'], { timeoutMs: 30_000 });
    assert.equal(r.code, 11, `${output}: ${r.signal ?? ''} ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`GPUPOOL_E_OUTPUT: ${message.source}`), output);
    assert.doesNotMatch(r.stderr, /WORKER_START|\n\s+at /, `${output}: no worker started, no stack`);
    assert.deepEqual(fs.readFileSync(input), before, `${output}: the input is untouched`);
  }
});

test('an output nested in folders that do not exist yet: they are made, and the run completes', async () => {
  const dir = tempDir();
  const cfg = writeConfig(dir, `models:\n  echo:\n    command: ${pyWorker('noop_worker.py')}\n    devices: cpu\n`);
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 5);
  const out = path.join(dir, 'a', 'b', 'out.jsonl');
  const r = await runCli(['run', '-c', cfg, '-i', input, '-o', out, '--progress', 'none']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readOutput(out).length, 5);
});

test('an output that takes no positioned writes (a file of /proc, with the journal elsewhere) fails naming it, with the writer thread or without', async () => {
  const dir = tempDir();
  const cfg = writeConfig(dir, `models:\n  echo:\n    command: ${pyWorker('noop_worker.py')}\n    devices: cpu\n`);
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 5);
  for (const thread of ['off', 'on']) {
    const r = await runCli(['run', '-c', cfg, '-i', input, '-o', '/proc/version', '--state-dir', path.join(dir, `state-${thread}`), '--progress', 'none'], {
      env: { GPUPOOL_WRITER_THREAD: thread },
      timeoutMs: 30_000,
    });
    assert.equal(r.code, 11, r.stderr);
    // As root the file opens and the positioned write fails (ESPIPE); otherwise it does not open.
    assert.match(r.stderr, /GPUPOOL_E_OUTPUT: cannot write the output \/proc\/version: (ESPIPE: invalid seek, write|EACCES)/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack');
  }
});
