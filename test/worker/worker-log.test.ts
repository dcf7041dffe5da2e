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

test('verbose echo: lines prefixed, a progress bar redrawn with \\r held as it stands, UTF-8 split across chunks whole, a CRLF kept, a line without end bounded', () => {
  const echoed: string[] = [];
  const out = new PassThrough();
  out.on('data', (b: Buffer) => echoed.push(b.toString('utf8')));
  const log = new WorkerLog(path.join(tempDir(), 'w.log'), { prefix: '[w0]', out });
  const stdout = new PassThrough();
  log.attach(stdout, false);
  stdout.write('loading\n');
  // A tqdm bar: 100,000 redraws with no newline; before, every one was held and copied again.
  for (let i = 0; i < 100_000; i++) stdout.write(`\r${i}/100000`);
  stdout.write('\n');
  const e = Buffer.from('é\n');
  stdout.write(e.subarray(0, 1));
  stdout.write(e.subarray(1));
  stdout.write('windows\r');
  stdout.write('\n');
  stdout.write('x'.repeat(40_000));
  stdout.end();
  const lines = echoed.join('').split('\n');
  assert.deepEqual(lines.slice(0, 4), ['[w0] loading', '[w0] 99999/100000', '[w0] é', '[w0] windows\r']);
  // 40,000 bytes without an end: two pieces of 16 KiB went out, the rest is held (bounded).
  assert.deepEqual(lines.slice(4, 6).map((l) => l.length), [5 + 16 * 1024, 5 + 16 * 1024]);
  log.close();
});
