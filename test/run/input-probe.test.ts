// The input is probed before any worker starts (a model may take minutes to load), and a read
// that fails later, after the probe passed, is still the same clear input error.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { GpupoolError } from '../../src/errors/index.js';
import { runJob } from '../../src/run/index.js';
import { openJournal } from '../../src/store/index.js';
import { echoConfig, pyWorker, runCli, tempDir, writeConfig, writeJsonl } from '../helpers/cli.js';

/** A worker that always fails in setup: reaching it would be exit 6, GPUPOOL_E_WORKER_START. */
function failingStartConfig(dir: string): string {
  return writeConfig(dir, `models:\n  echo:\n    command: ${pyWorker('setup_fail_worker.py')}\n    devices: cpu\n`);
}

test('an input that cannot be read, a glob whose folder does not exist, or a named pipe stops the run before any worker starts', async () => {
  const dir = tempDir();
  const cfg = failingStartConfig(dir);
  const out = path.join(dir, 'out.jsonl');
  for (const threads of ['off', 'on']) {
    const env = { ...process.env, GPUPOOL_READER_THREAD: threads, GPUPOOL_WRITER_THREAD: threads };
    // Linux refuses a read of a process's own memory at offset 0 (EIO).
    const unreadable = await runCli(['run', '-c', cfg, '-i', '/proc/self/mem', '-o', out, '--progress', 'none', '--fresh'], { env });
    assert.equal(unreadable.code, 8, unreadable.stderr);
    assert.match(unreadable.stderr, /GPUPOOL_E_INPUT_READ: cannot read the input \/proc\/self\/mem: EIO: i\/o error, read/);
    assert.doesNotMatch(unreadable.stderr, /WORKER_START|model file not found/, 'no worker was started');

    const noFolder = path.join(dir, 'missing', '*.png');
    const glob = await runCli(['run', '-c', cfg, '-i', noFolder, '-o', out, '--progress', 'none', '--fresh'], { env });
    assert.equal(glob.code, 8, glob.stderr);
    assert.match(glob.stderr, /GPUPOOL_E_INPUT_NOT_FOUND: input ".*missing\/\*\.png" starts from ".*missing", which does not exist/);
    assert.doesNotMatch(glob.stderr, /WORKER_START/);

    // A named pipe is refused at once (never opened to wait for a writer): a stream is -i -.
    const fifo = path.join(dir, `pipe-${threads}`);
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
    const piped = await runCli(['run', '-c', cfg, '-i', fifo, '-o', out, '--progress', 'none', '--fresh'], { env, timeoutMs: 30_000 });
    assert.equal(piped.code, 8, piped.stderr);
    assert.match(piped.stderr, /GPUPOOL_E_INPUT_NOT_FOUND: input ".*pipe-\w+" is not a regular file or a folder \(a pipe or a device\?\): pass a stream as stdin, with -i -/);
  }
  assert.equal(fs.existsSync(out), false, 'nothing was written');
});

test('a read that fails after the probe (the file gone before it is read) is GPUPOOL_E_INPUT_READ naming the input, with the thread or without', async () => {
  for (const readerThread of [false, true]) {
    const dir = tempDir();
    const input = writeJsonl(path.join(dir, 'in.jsonl'), 10);
    const config = loadConfig(echoConfig(dir));
    const err = await runJob({
      config,
      input,
      output: path.join(dir, 'out.jsonl'),
      progress: 'none',
      readerThread,
      writerThread: false,
      // Opened after the input was probed and before it is read.
      openJournal: (options) => {
        fs.rmSync(input);
        return openJournal(options);
      },
    }).then(
      () => assert.fail('the input was deleted before it was read'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof GpupoolError, String(err));
    assert.equal(err.code, 'GPUPOOL_E_INPUT_READ');
    assert.match(err.message, new RegExp(`cannot read the input ${input.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ENOENT: no such file or directory`));
  }
});
