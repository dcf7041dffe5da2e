import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { pyWorker, readOutput, runCli, tempDir, writeConfig, writeJsonl } from '../helpers/cli.js';

// The GPU version of this is bench/gpu/fatal-check.sh (a real device-side assert and illegal
// memory access); here the worker raises the CUDA error's text, which is all the SDK reads.
const STICKY = 'CUDA error: device-side assert triggered';

test('fatal device error: the worker answers fatal and exits, is recycled; the poison alone ends failed, every neighbour succeeds', async () => {
  const dir = tempDir();
  const n = 2000;
  const poison = 777;
  const input = writeJsonl(path.join(dir, 'in.jsonl'), n, (i) => (i === poison ? { runtime: STICKY } : { echo: i }));
  const out = path.join(dir, 'out.jsonl');
  // One worker with two batches in flight: when the poison's batch kills it, the other batch
  // dies with it through no fault of its own, and must not be failed for that.
  const config = writeConfig(dir, `models:\n  m:\n    command: ${pyWorker('scripted_worker.py')}\n    devices: cpu\n    max_attempts: 3\n    restart: { backoff: 20ms }\n    batch: { max: 32, in_flight: 2 }\n`);
  const r = await runCli(['run', '-c', config, '-i', input, '-o', out, '--progress', 'none', '--json']);
  assert.equal(r.code, 1, r.stderr);
  const lines = readOutput(out);
  assert.equal(lines.length, n);
  assert.equal(new Set(lines.map((l) => l.id)).size, n);
  const failed = lines.filter((l) => l.error);
  assert.deepEqual(failed.map((l) => l.id), [poison + 1], `only the poison fails, got ${JSON.stringify(failed)}`);
  assert.equal(failed[0].error?.code, 'GPUPOOL_E_WORKER_CRASHED');
  assert.match(failed[0].error!.message, /device-side assert triggered/);
  for (const l of lines) if (!l.error) assert.equal(l.output, (l.id as number) - 1);

  const summary = JSON.parse(r.stdout) as { workerRestarts: number };
  assert.ok(summary.workerRestarts >= 3, `the poison recycles its worker on each attempt, restarts: ${summary.workerRestarts}`);
  assert.match(r.stderr, /worker \S+ crashed; \d+ items? go(es)? back to the queue: fatal device error: RuntimeError: CUDA error: device-side assert triggered/);
  // The poison's last crash says it ended failed (it said "0 items go back to the queue"; with a
  // crash instead of fatal, "1 item goes back"), and a fatal batch's own items are counted.
  assert.match(r.stderr, /worker \S+ crashed; \d+ items? go(es)? back to the queue, 1 failed for good \(no attempts left\): fatal device error: RuntimeError: CUDA error: device-side assert triggered/);
  assert.doesNotMatch(r.stderr, /crashed; 0 items go back to the queue: fatal device error/);
  const logDir = path.join(dir, '.gpupool', 'out.jsonl', 'logs');
  const logs = fs.readdirSync(logDir).map((f) => fs.readFileSync(path.join(logDir, f), 'utf8')).join('');
  assert.ok((logs.match(/exited with code 70 \(fatal\)/g) ?? []).length >= 3, 'the SDK exits with status 70 after a fatal error');
});

test('a worker that crashes: the console line names the last line of its stderr (the exception) and its log, not a dangling "stderr:"', async () => {
  const dir = tempDir();
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 3, (i) => (i === 1 ? { die: 'the decoder thread died' } : { echo: i }));
  const out = path.join(dir, 'out.jsonl');
  const config = writeConfig(dir, `models:\n  m:\n    command: ${pyWorker('scripted_worker.py')}\n    devices: cpu\n    max_attempts: 1\n    restart: { backoff: 20ms }\n    batch: { max: 1 }\n`);
  const r = await runCli(['run', '-c', config, '-i', input, '-o', out, '--progress', 'none']);
  assert.equal(r.code, 1, r.stderr);
  const log = path.join(dir, '.gpupool', 'out.jsonl', 'logs', 'm_cpu_0_0.log');
  const crashed = r.stderr.split('\n').filter((l) => l.includes('crashed'));
  assert.ok(crashed.length > 0, r.stderr);
  // Items in flight beside it (batch.in_flight) go back too: how many depends on timing.
  const expected = `worker m/cpu:0/0 exited with code 1; stderr ends: RuntimeError: the decoder thread died (log: ${log})`;
  for (const line of crashed) {
    assert.match(line, /^gpupool: worker m\/cpu:0\/0 crashed; \d+ items? go(es)? back to the queue(, 1 failed for good \(no attempts left\))?: /);
    assert.ok(line.endsWith(`: ${expected}`), line);
  }
  // max_attempts 1: the item that crashed it alone is failed, not sent back (the line said "1 item goes back to the queue").
  assert.match(crashed.at(-1)!, /crashed; \d+ items? go(es)? back to the queue, 1 failed for good \(no attempts left\): /);
  assert.match(fs.readFileSync(log, 'utf8'), /Traceback \(most recent call last\):[^]*RuntimeError: the decoder thread died/);
  // status names the cause too: the message's first line alone ended in a dangling "stderr:".
  const status = (await runCli(['status', out])).stdout;
  assert.match(status, /^ {2}failed 2: GPUPOOL_E_WORKER_CRASHED: worker m\/cpu:0\/0 exited with code 1; stderr ends: RuntimeError: the decoder thread died$/m, status);
});

/**
 * Item 1 (`first`) raises an exception the SDK answers and goes on from; item 3 then ends the
 * worker with nothing on stderr. The crash line must name no cause but the exit, and item 1 keeps its own error.
 */
async function answeredThenSilentCrash(first: Record<string, unknown>) {
  const dir = tempDir();
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 3, (i) => [first, { echo: 2 }, { exit: 3 }][i]);
  const out = path.join(dir, 'out.jsonl');
  const config = writeConfig(dir, `models:\n  m:\n    command: ${pyWorker('scripted_worker.py')}\n    devices: cpu\n    max_attempts: 1\n    restart: { backoff: 20ms }\n    batch: { max: 1, in_flight: 1 }\n`);
  const r = await runCli(['run', '-c', config, '-i', input, '-o', out, '--progress', 'none']);
  assert.equal(r.code, 1, r.stderr);
  const log = path.join(dir, '.gpupool', 'out.jsonl', 'logs', 'm_cpu_0_0.log');
  const crashed = r.stderr.split('\n').filter((l) => l.includes('crashed'));
  assert.ok(crashed.length > 0, r.stderr);
  for (const line of crashed) assert.ok(line.endsWith(`: worker m/cpu:0/0 exited with code 3 (log: ${log})`) && /back to the queue(, 1 failed for good \(no attempts left\))?: worker m\/cpu:0\/0 exited/.test(line), line);
  const byId = new Map(readOutput(out).map((l) => [l.id, l]));
  assert.match(byId.get(1)?.error?.message ?? '', /^ValueError: bad page 1/);
  assert.equal(byId.get(3)?.error?.code, 'GPUPOOL_E_WORKER_CRASHED');
  assert.doesNotMatch(byId.get(3)!.error!.message, /page 1/, 'the crashed item is not given the other item\'s exception');
  return fs.readFileSync(log, 'utf8');
}

test('a worker that dies without a word after answering an exception: its crash is not blamed on that exception, nor on its message\'s last line', async () => {
  // The crash line said "stderr ends: ValueError: bad page 1"; then, with a message of two lines,
  // "stderr ends: the header of page 1 is cut".
  const log = await answeredThenSilentCrash({ raise: 'bad page 1\nthe header of page 1 is cut' });
  assert.match(log, /gpupool: batch \d+ failed \(batch\), \d+ lines:\nTraceback[^]*ValueError: bad page 1\nthe header of page 1 is cut/, 'the log keeps the report');
});

test('an answered exception reported after a progress bar (stderr left without a line end) is not blamed for a later crash either', async () => {
  // Item 1 redraws a bar with \r, no line end, then raises: the SDK's report starts on the bar's
  // line, was not read as one, and the crash of item 3 was said to be "ValueError: bad page 1".
  const log = await answeredThenSilentCrash({ bar: '1/3 items', raise: 'bad page 1' });
  assert.match(log, /\r1\/3 itemsgpupool: batch \d+ failed \(batch\), \d+ lines:\nTraceback/, 'the log keeps the bar and the report');
});
