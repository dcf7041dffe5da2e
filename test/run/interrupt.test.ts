import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import { pyWorker, readOutput, startCli, runCli, tempDir, writeConfig, writeJsonl, type CliResult } from '../helpers/cli.js';
import { childPids } from '../helpers/processes.js';
import { until } from '../helpers/until.js';

const ITEMS = 600;

function setup() {
  const dir = tempDir();
  // 20 ms an item, one worker, batches of 4: 12 s of work, all of it read and queued at once.
  const config = writeConfig(dir, `models:\n  slow:\n    command: ${pyWorker('slow_worker.py')}\n    devices: cpu\n    batch: { max: 4, timeout: 1ms }\n`);
  const input = writeJsonl(path.join(dir, 'in.jsonl'), ITEMS, (i) => ({ n: i, sleep_ms: 20 }));
  const output = path.join(dir, 'out.jsonl');
  return { args: ['run', '-c', config, '-i', input, '-o', output, '--max-pending', String(ITEMS * 2)], output };
}

async function waitForLines(file: string, n: number): Promise<void> {
  for (;;) {
    try {
      if (readOutput(file).length >= n) return;
    } catch {
      // not created yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function assertEachIdOnce(file: string): void {
  const ids = readOutput(file).map((l) => l.id);
  assert.equal(ids.length, ITEMS);
  assert.equal(new Set(ids).size, ITEMS, 'an id was written twice');
  assert.deepEqual([...ids].sort((a, b) => Number(a) - Number(b)), Array.from({ length: ITEMS }, (_, i) => i + 1));
}

test('Ctrl-C drains: queued items do not start although the input was read in full; the same command resumes the rest', async () => {
  const { args, output } = setup();
  const run = startCli(args);
  await waitForLines(output, 1);
  run.child.kill('SIGINT');
  const r = await run.done;
  assert.equal(r.code, 130, r.stderr);
  const written = readOutput(output).length;
  assert.ok(written < ITEMS / 2, `a drain finishes in-flight batches only, yet ${written} of ${ITEMS} items were written`);
  const again = await runCli(args);
  assert.equal(again.code, 0, again.stderr);
  assertEachIdOnce(output);
});

test('a second Ctrl-C stops at once; the same command resumes with each id once', async () => {
  const { args, output } = setup();
  const run = startCli(args);
  await waitForLines(output, 1);
  run.child.kill('SIGINT');
  run.child.kill('SIGINT');
  const r = await run.done;
  assert.equal(r.code, 130, r.stderr);
  // Workers stopped on purpose are not reported as crashes.
  assert.doesNotMatch(r.stderr, /crashed/);
  const again = await runCli(args);
  assert.equal(again.code, 0, again.stderr);
  assertEachIdOnce(output);
});

test('Ctrl-C while stdin is silent (a producer that stays open) ends the run at once, with the reader and writer threads on or off', async () => {
  const dir = tempDir();
  const config = writeConfig(dir, `models:\n  echo:\n    command: ${pyWorker('noop_worker.py')}\n    devices: cpu\n    batch: { max: 4, timeout: 1ms }\n`);
  for (const thread of ['on', 'off']) {
    const output = path.join(dir, `out-${thread}.jsonl`);
    const run = startCli(['run', '-c', config, '-i', '-', '-o', output, '--progress', 'none', '--json'], { env: { GPUPOOL_READER_THREAD: thread, GPUPOOL_WRITER_THREAD: thread }, openStdin: true });
    run.child.stdin!.write('{"n":1}\n{"n":2}\n{"n":3}\n');
    await waitForLines(output, 3); // read, run and written: the run now waits on stdin, which stays open
    run.child.kill('SIGINT');
    const timeout = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 15_000).unref());
    const r = await Promise.race([run.done, timeout]);
    if (r === 'hung') {
      run.child.kill('SIGKILL');
      assert.fail(`thread ${thread}: the run did not end within 15 s of Ctrl-C while stdin stayed open`);
    }
    assert.equal(r.code, 130, r.stderr);
    const summary = JSON.parse(r.stdout) as { readerThread: boolean; writerThread: boolean };
    assert.deepEqual([summary.readerThread, summary.writerThread], [thread === 'on', thread === 'on']);
    assert.deepEqual(readOutput(output).map((l) => l.output), [{ n: 1 }, { n: 2 }, { n: 3 }]);
    run.child.stdin!.end();
  }
});

/** The run's result, or a failure naming `what` if it has not ended within 15 s of the interrupt (the process is then killed). */
async function endsSoon(run: { child: ChildProcess; done: Promise<CliResult> }, what: string): Promise<CliResult> {
  const timeout = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 15_000).unref());
  const r = await Promise.race([run.done, timeout]);
  if (r === 'hung') {
    run.child.kill('SIGKILL');
    assert.fail(`${what}: the run did not end within 15 s of Ctrl-C`);
  }
  return r;
}

/** Resolves once the process has written `pattern` to stderr. */
function stderrShows(child: ChildProcess, pattern: RegExp): Promise<void> {
  let seen = '';
  return new Promise((resolve) => {
    child.stderr!.on('data', (d: Buffer) => {
      seen += d.toString();
      if (pattern.test(seen)) resolve();
    });
  });
}

test('Ctrl-C while the only worker restarts after a crash (its batch back in the queue, nothing in flight, the input read) ends the run at once', async () => {
  const dir = tempDir();
  // Every item crashes the worker, which then waits 3 s before it starts again: the interrupt lands with nothing in flight.
  const config = writeConfig(dir, `models:\n  c:\n    command: ${pyWorker('crash_worker.py')}\n    devices: cpu\n    max_attempts: 2\n    restart: { backoff: 3s }\n    batch: { max: 8 }\n`);
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 50, (i) => ({ n: i, crash: true }));
  const output = path.join(dir, 'out.jsonl');
  const args = ['run', '-c', config, '-i', input, '-o', output, '--progress', 'none'];
  const run = startCli(args);
  // The first item to crash its worker alone: it ends failed, the worker restarts with nothing in flight.
  await stderrShows(run.child, /crashed; \d+ items? go(es)? back to the queue, 1 failed for good/);
  run.child.kill('SIGINT');
  const r = await endsSoon(run, 'a drain with nothing in flight');
  assert.equal(r.code, 130, r.stderr);
  // The rest is resumed: each item fails alone after its attempts, once.
  const again = await runCli(['run', '-c', config, '-i', input, '-o', output, '--progress', 'none'], { env: {} });
  assert.equal(again.code, 1, again.stderr);
  const ids = readOutput(output).map((l) => l.id);
  assert.equal(new Set(ids).size, 50);
  assert.equal(ids.length, 50);
});

test('Ctrl-C while the models load stops the start at once: exit 130, no worker left, nothing run', async () => {
  const dir = tempDir();
  const config = writeConfig(dir, `models:\n  slow:\n    command: ${pyWorker('slow_worker.py')}\n    devices: cpu\n    workers_per_device: 2\n    env: { SETUP_SLEEP_MS: "60000" }\n`);
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 10);
  const output = path.join(dir, 'out.jsonl');
  const run = startCli(['run', '-c', config, '-i', input, '-o', output, '--progress', 'none']);
  await until('both workers started', () => childPids(run.child.pid!).length >= 2);
  const workers = childPids(run.child.pid!);
  run.child.kill('SIGINT');
  const r = await endsSoon(run, 'a start that loads for 60 s');
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /GPUPOOL_E_INTERRUPTED: interrupted while the workers started \(models loading\): nothing ran\n/);
  for (const pid of workers) assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `worker ${pid} is still there`);
  // A server shut down while its models load does not wait for them either: a stop asked for, exit 0 (as systemd's stop expects).
  const serve = startCli(['serve', '-c', config, '--port', '0', '--state-dir', path.join(dir, 'serve-state')]);
  await until('both of its workers started', () => childPids(serve.child.pid!).length >= 2);
  const serveWorkers = childPids(serve.child.pid!);
  serve.child.kill('SIGTERM');
  const s = await endsSoon(serve, 'gpupool serve');
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stderr, /gpupool: stopped before the models were ready\n/);
  for (const pid of serveWorkers) assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `serve's worker ${pid} is still there`);
});
