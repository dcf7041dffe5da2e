// WorkerLog: a log folder that cannot be made is a clear error naming it; a log that can is
// written, with gpupool's own notes beside the worker's output.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { GpupoolError } from '../../src/errors/index.js';
import { WorkerLog } from '../../src/worker/worker-log.js';
import { tempDir } from '../helpers/cli.js';
import { until } from '../helpers/until.js';

test('a log folder that cannot be made (procfs answers ENOENT; a file in the way) is GPUPOOL_E_OUTPUT naming it', () => {
  const file = path.join(tempDir(), 'file');
  fs.writeFileSync(file, '');
  for (const [dir, why] of [['/proc/gpupool-test', 'ENOENT'], [file, 'ENOTDIR']]) {
    assert.throws(
      () => new WorkerLog(path.join(dir, 'w.log')),
      (e: Error) => e instanceof GpupoolError && e.code === 'GPUPOOL_E_OUTPUT' && e.message.startsWith(`cannot make the folder ${dir} for the workers' logs: ${why}`),
    );
  }
});

test('the folder is made and the worker\'s stderr lands in the log', async () => {
  const logFile = path.join(tempDir(), 'a', 'b', 'w.log');
  const log = new WorkerLog(logFile);
  const stderr = new PassThrough();
  log.attach(stderr, true);
  stderr.write('model file not found\n');
  log.note('started');
  // The log is a stream: wait for the writes to land, not a fixed time.
  const text = await until('both lines in the log', () => {
    const t = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
    return t.includes('model file not found') && t.includes('started') ? t : undefined;
  }, 10_000);
  assert.match(text, /\[gpupool .*\] started/);
  log.close();
});
