import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { CLI, echoConfig, pyWorker, readOutput, runCli, startCli, tempDir, writeConfig, writeJsonl } from '../helpers/cli.js';
import { childPids } from '../helpers/processes.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A folder with `in.jsonl` holding `lines`, a config of one CPU no-op worker, and where the output goes. */
function noopJob(lines: string): { dir: string; input: string; out: string; config: string } {
  const dir = tempDir();
  const input = path.join(dir, 'in.jsonl');
  fs.writeFileSync(input, lines);
  const config = echoConfig(dir);
  return { dir, input, out: path.join(dir, 'out.jsonl'), config };
}

test('kill -9 at random moments, run again each time (reader and writer threads on and off in turn): every id exactly once, every result right', async () => {
  const dir = tempDir();
  const n = 200_000;
  // ~0.1 ms of work per item (a sleep of 0.05 ms costs about that) keeps the job running for
  // about 10 s of work, so the kills land mid-run however fast the machine: a no-op worker
  // finished 200,000 items between two kills once the result path got faster.
  const input = writeJsonl(path.join(dir, 'in.jsonl'), n, (i) => ({ n: i, sleep_ms: 0.05 }));
  const out = path.join(dir, 'out.jsonl');
  const config = writeConfig(dir, `models:\n  echo:\n    command: ${pyWorker('slow_worker.py')}\n    devices: cpu\n    workers_per_device: 2\n    batch: { max: 64 }\n`);
  const args = ['run', '-c', config, '-i', input, '-o', out, '--progress', 'none'];
  let kills = 0;
  for (let round = 0; round < 20; round++) {
    // Each thread on in some rounds and off in others, in all four pairings: a run resumes across them.
    const threads = { GPUPOOL_READER_THREAD: round % 2 === 0 ? 'on' : 'off', GPUPOOL_WRITER_THREAD: round % 4 < 2 ? 'on' : 'off' };
    const { child, done } = startCli(args, { env: threads });
    await sleep(300 + Math.random() * 900);
    if (child.exitCode !== null) break;
    child.kill('SIGKILL');
    await done;
    kills++;
  }
  const final = await runCli(args);
  assert.equal(final.code, 0, final.stderr);
  const lines = readOutput(out);
  const seen = new Set<number>();
  for (const l of lines) {
    assert.ok(!seen.has(l.id as number), `id ${l.id} written twice`);
    seen.add(l.id as number);
    assert.deepEqual(l.output, { n: (l.id as number) - 1, sleep_ms: 0.05 });
  }
  assert.equal(seen.size, n);
  assert.ok(kills >= 3, `only ${kills} kills landed mid-run`);
});

test('a job with failures still exits 1 when run again: its failed items are in the output, counted as failed before', async () => {
  const { input, out, config } = noopJob('{"a":1}\n{"b":\n\n{"c":3}\n{"d":4}\n');
  const args = ['run', '-c', config, '-i', input, '-o', out, '--progress', 'plain', '--json'];
  const first = await runCli(args);
  assert.equal(first.code, 1, first.stderr);
  const again = await runCli(args);
  assert.equal(again.code, 1, `the job still has a failed item: ${again.stderr}`);
  const summary = JSON.parse(again.stdout) as { done: number; failed: number; resumed: number; resumedFailed: number };
  assert.deepEqual([summary.done, summary.failed, summary.resumed, summary.resumedFailed], [0, 0, 4, 1]);
  assert.match(again.stderr, /done: 0 items ok, 0 failed, 4 already done before \(1 of them failed\)/);
  assert.equal(readOutput(out).length, 4, 'nothing written twice');
  const status = await runCli(['status', out, '--json']);
  assert.deepEqual((JSON.parse(status.stdout) as { counts: unknown }).counts, { done: 3, failed: 1, total: 4 }, 'the total of a job run again once finished');
});

test('an input file edited since the journal was made is not resumed; the same file named from another folder is', async () => {
  const { dir, input, out, config } = noopJob('{"v":1}\n{"v":2}\n');
  assert.equal((await runCli(['run', '-c', config, '-i', input, '-o', out, '--progress', 'none'])).code, 0);
  // Named relative to another folder, the same file resumes: nothing to do.
  fs.mkdirSync(path.join(dir, 'sub'));
  const elsewhere = await runCli(['run', '-c', config, '-i', '../in.jsonl', '-o', out, '--progress', 'none', '--json'], { cwd: path.join(dir, 'sub') });
  assert.equal(elsewhere.code, 0, elsewhere.stderr);
  assert.equal((JSON.parse(elsewhere.stdout) as { resumed: number }).resumed, 2);
  // Rewritten in place: its first line is another input now, so it must not be skipped as done.
  fs.writeFileSync(input, '{"v":"changed"}\n{"v":2}\n{"v":3}\n');
  const edited = await runCli(['run', '-c', config, '-i', input, '-o', out, '--progress', 'none']);
  assert.equal(edited.code, 10, edited.stderr);
  assert.match(edited.stderr, /GPUPOOL_E_JOURNAL_MISMATCH: the input changed since the journal in .* was made \("16 bytes, modified [-:.T0-9]{29}Z" then, "32 bytes, modified [-:.T0-9]{29}Z" now\): its items are resumed by position, so it is not resumed\n/);
  assert.match(edited.stderr, /"inputIdentity":"file:[^"]*in\.jsonl","inputState":"16 bytes, modified [-:.T0-9]{29}Z"/);
  assert.match(edited.stderr, /"inputState":"32 bytes, modified /);
  assert.match(edited.stderr, /differs in: inputState\n/, 'only what the job is compared by');
  assert.deepEqual(readOutput(out).map((l) => l.output), [{ v: 1 }, { v: 2 }], 'the output is untouched');
});

test('stdin from a file (< in.jsonl) resumes for that file, reader thread on or off, and not for another', () => {
  const { dir, input, out, config } = noopJob('{"v":1}\n{"v":2}\n');
  const run = (file: string, thread: string, skip = 0) => {
    const fd = fs.openSync(file, 'r');
    if (skip > 0) fs.readSync(fd, Buffer.alloc(skip), 0, skip, null); // as `{ read -r header; gpupool run -i -; } < file`
    try {
      const r = spawnSync(process.execPath, [CLI, 'run', '-c', config, '-i', '-', '-o', out, '--progress', 'none', '--json'], { stdio: [fd, 'pipe', 'pipe'], encoding: 'utf8', env: { ...process.env, GPUPOOL_READER_THREAD: thread } });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    } finally {
      fs.closeSync(fd);
    }
  };
  assert.equal(run(input, 'off').code, 0);
  const again = run(input, 'on');
  assert.equal(again.code, 0, again.stderr);
  assert.equal((JSON.parse(again.stdout) as { resumed: number }).resumed, 2);
  const other = path.join(dir, 'other.jsonl');
  fs.writeFileSync(other, '{"v":"other"}\n{"v":2}\n');
  const refused = run(other, 'off');
  assert.equal(refused.code, 10, refused.stderr);
  const message = (JSON.parse(refused.stderr) as { message: string }).message; // --json: the error as JSON
  assert.match(message, /"inputIdentity":"stream:stdin","inputState":"file \d+:\d+ from byte 0, 16 bytes, modified [^"]+"/);
  assert.match(message, /differs in: inputState\n/);
  assert.match(message, /why: stdin read from a file is resumed only while that file keeps its size and modification time; give the file with -i to resume it once lines are added/);
  // The same lines from a pipe cannot be checked: refused, saying what the input is now.
  const piped = spawnSync(process.execPath, [CLI, 'run', '-c', config, '-i', '-', '-o', out, '--progress', 'none'], { input: fs.readFileSync(input), encoding: 'utf8' });
  assert.equal(piped.status, 10, piped.stderr);
  assert.match(piped.stderr, /\("file \d+:\d+ from byte 0, 16 bytes, modified [^"]+" then, none: a pipe or a terminal, whose lines cannot be checked now\)/);
  // The same file read from its second line on numbers its lines from there: not the same input.
  const shifted = run(input, 'off', 8);
  assert.equal(shifted.code, 10, shifted.stderr);
  assert.match((JSON.parse(shifted.stderr) as { message: string }).message, /"inputState":"file \d+:\d+ from byte 8, 16 bytes/);
});

test('a journal of another input is refused with a clear message; --fresh starts over', async () => {
  const dir = tempDir();
  const a = writeJsonl(path.join(dir, 'a.jsonl'), 10);
  const b = writeJsonl(path.join(dir, 'b.jsonl'), 5);
  const out = path.join(dir, 'out.jsonl');
  const config = echoConfig(dir);
  assert.equal((await runCli(['run', '-c', config, '-i', a, '-o', out, '--progress', 'none'])).code, 0);
  const again = await runCli(['run', '-c', config, '-i', a, '-o', out, '--progress', 'none', '--json']);
  assert.equal(again.code, 0);
  assert.equal((JSON.parse(again.stdout) as { resumed: number }).resumed, 10, 'a finished job is not run twice');
  assert.equal(readOutput(out).length, 10);
  const other = await runCli(['run', '-c', config, '-i', b, '-o', out, '--progress', 'none']);
  assert.equal(other.code, 10);
  assert.match(other.stderr, /GPUPOOL_E_JOURNAL_MISMATCH/);
  assert.match(other.stderr, /--fresh/);
  const fresh = await runCli(['run', '-c', config, '-i', b, '-o', out, '--progress', 'none', '--fresh']);
  assert.equal(fresh.code, 0, fresh.stderr);
  assert.equal(readOutput(out).length, 5);
  const status = await runCli(['status', out, '--json']);
  assert.equal(status.code, 0, status.stderr);
  assert.equal((JSON.parse(status.stdout) as { counts: { done: number } }).counts.done, 5);
});

test('poison: an input that always crashes its worker ends as a failed line after max_attempts; all others succeed', async () => {
  const dir = tempDir();
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 2000, (i) => (i === 777 ? { crash: true } : { n: i }));
  const out = path.join(dir, 'out.jsonl');
  const config = writeConfig(dir, `models:\n  echo:\n    command: ${pyWorker('crash_worker.py')}\n    devices: cpu\n    workers_per_device: 2\n    max_attempts: 3\n    restart: { backoff: 20ms }\n    batch: { max: 32 }\n`);
  const r = await runCli(['run', '-c', config, '-i', input, '-o', out, '--progress', 'none']);
  assert.equal(r.code, 1, r.stderr);
  const lines = readOutput(out);
  assert.equal(lines.length, 2000);
  const failed = lines.filter((l) => l.error);
  assert.deepEqual(failed.map((l) => l.id), [778]);
  assert.equal(failed[0].error?.code, 'GPUPOOL_E_WORKER_CRASHED');
  assert.match(failed[0].error!.message, /exited with code 3/);
});

test('chaos: workers killed at random every few hundred ms; every item done once', async () => {
  const dir = tempDir();
  const n = 100_000;
  // 0.1 ms of work per item keeps the job running for seconds, so the kills land mid-job on any machine.
  const input = writeJsonl(path.join(dir, 'in.jsonl'), n, (i) => ({ n: i, sleep_ms: 0.1 }));
  const out = path.join(dir, 'out.jsonl');
  const config = writeConfig(dir, `models:\n  echo:\n    command: ${pyWorker('slow_worker.py')}\n    devices: cpu\n    workers_per_device: 3\n    max_attempts: 5\n    restart: { backoff: 20ms }\n    batch: { max: 64 }\n`);
  const { child, done } = startCli(['run', '-c', config, '-i', input, '-o', out, '--progress', 'none', '--max-pending', '20000']);
  let killed = 0;
  const chaos = (async () => {
    // The first start must succeed (a failure there is a config error): begin once results flow.
    while (child.exitCode === null && !(fs.existsSync(out) && fs.statSync(out).size > 0)) await sleep(20);
    while (child.exitCode === null) {
      await sleep(200 + Math.random() * 200);
      const pids = childPids(child.pid!);
      if (pids.length === 0) continue;
      try {
        process.kill(pids[Math.floor(Math.random() * pids.length)], 'SIGKILL');
        killed++;
      } catch {
        // already gone
      }
    }
  })();
  const r = await done;
  await chaos;
  assert.equal(r.code, 0, r.stderr);
  const ids = readOutput(out).map((l) => l.id);
  assert.equal(ids.length, n);
  assert.equal(new Set(ids).size, n);
  assert.ok(killed >= 3, `only ${killed} workers killed`);
});

test('OOM on CPU: a worker that fails above a cost threshold finishes every item; the limit settles within one halving', async () => {
  const dir = tempDir();
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 20_000);
  const out = path.join(dir, 'out.jsonl');
  const config = writeConfig(dir, `models:\n  echo:\n    command: ${pyWorker('oom_worker.py')}\n    devices: cpu\n    batch: { max: 512 }\n    env: { OOM_COST_LIMIT: "40" }\n`);
  const r = await runCli(['run', '-c', config, '-i', input, '-o', out, '--progress', 'none', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readOutput(out).filter((l) => l.output).length, 20_000);
  const limit = (JSON.parse(r.stdout) as { batchLimits: Record<string, number> }).batchLimits['cpu:0'];
  assert.ok(limit <= 40 && limit >= 20, `learned limit ${limit}`);
  const status = JSON.parse((await runCli(['status', out, '--json'])).stdout) as { learnedLimits: Record<string, Record<string, { limit: number }>> };
  assert.equal(status.learnedLimits.echo['cpu:0'].limit, limit, 'the learned limit is remembered for the next run');
});

test('OOM on CPU, two workers sharing the device: they share one limit, the summary gives it for each, and the device keeps it for the next run', async () => {
  const dir = tempDir();
  const device = path.join(dir, 'device');
  fs.mkdirSync(device);
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 6_000, (i) => ({ n: i, mem: 10 }));
  const out = path.join(dir, 'out.jsonl');
  // A device of 100 shared by the two processes, items of 10: two batches of 5 fit. Learned apart,
  // the first worker to grow took it (limits such as 8 and 2).
  const config = writeConfig(dir, `models:\n  echo:\n    command: ${pyWorker('shared_memory_worker.py')}\n    devices: cpu\n    workers_per_device: 2\n    batch: { max: 8 }\n    env: { SHARED_DEVICE_DIR: ${JSON.stringify(device)}, DEVICE_CAPACITY: "100" }\n`);
  const r = await runCli(['run', '-c', config, '-i', input, '-o', out, '--progress', 'none', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readOutput(out).filter((l) => l.output).length, 6_000);
  const summary = JSON.parse(r.stdout) as { batchLimits: Record<string, number>; workerBatchLimits: Record<string, number[]>; devices: { items: number; batches: number; outOfMemoryBatches: number }[] };
  const [first, second] = summary.workerBatchLimits['cpu:0'];
  const limit = summary.batchLimits['cpu:0'];
  const [cpu] = summary.devices;
  assert.ok(cpu.outOfMemoryBatches > 0, 'the out-of-memory batches it learned from are counted');
  assert.ok(cpu.batches >= 6_000 / 8 && cpu.items / cpu.batches <= 8, `${cpu.batches} batches for ${cpu.items} items`);
  assert.deepEqual([first, second], [limit, limit], 'one limit for both workers');
  // 5 fits two; 6, grown into by the last batches and not yet tried, may be where it stands.
  assert.ok(limit >= 3 && limit <= 6, `learned limit ${limit}`);
  const status = JSON.parse((await runCli(['status', out, '--json'])).stdout) as { learnedLimits: Record<string, Record<string, { limit: number }>> };
  assert.equal(status.learnedLimits.echo['cpu:0'].limit, limit, 'the next run starts there');
  const text = await runCli(['run', '-c', config, '-i', input, '-o', path.join(dir, 'again.jsonl'), '--progress', 'plain']);
  assert.match(text.stderr + text.stdout, /batch limit (\d+)\/\1\b/, 'the summary line names both workers\' limits');
});

test('OOM on CPU, two workers sharing the device: an item that fits only with the device to itself runs, the other worker idle and its cache given back', async () => {
  const dir = tempDir();
  const device = path.join(dir, 'device');
  fs.mkdirSync(device);
  // 100 of 100: it fits only where the other worker holds nothing.
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 600, (i) => (i === 499 ? { n: i, mem: 100 } : { n: i }));
  const out = path.join(dir, 'out.jsonl');
  // The other worker keeps what its last item took (1): before, the item failed "even alone". Batches of one: a
  // bisection moving between the workers would empty the other's cache at its out-of-memory, and let the item fit by chance.
  const config = writeConfig(dir, `models:\n  echo:\n    command: ${pyWorker('shared_memory_worker.py')}\n    devices: cpu\n    workers_per_device: 2\n    batch: { max: 1 }\n    env: { SHARED_DEVICE_DIR: ${JSON.stringify(device)}, DEVICE_CAPACITY: "100" }\n`);
  const r = await runCli(['run', '-c', config, '-i', input, '-o', out, '--progress', 'none', '--json']);
  assert.equal(r.code, 0, r.stderr + JSON.stringify(readOutput(out).filter((l) => l.error)));
  const lines = readOutput(out);
  assert.equal(lines.filter((l) => l.output).length, 600);
  assert.equal(new Set(lines.map((l) => l.id)).size, 600);
  const logs = fs.readdirSync(path.join(dir, '.gpupool', 'out.jsonl', 'logs')).map((f) => fs.readFileSync(path.join(dir, '.gpupool', 'out.jsonl', 'logs', f), 'utf8')).join('');
  assert.match(logs, /needs 100, the others hold 1 of 100/, `it ran out of memory beside the other first: ${logs.match(/OutOfMemory: .*/g)?.join('; ')}`);
});

test('OOM on CPU: an item too large even alone fails alone, and the limit the others run and the next run starts at stays batch.max', async () => {
  const dir = tempDir();
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 3_000, (i) => (i === 6 ? { n: i, cost: 1e9 } : { n: i }));
  const out = path.join(dir, 'out.jsonl');
  const config = writeConfig(dir, `models:\n  echo:\n    command: ${pyWorker('oom_worker.py')}\n    devices: cpu\n    batch: { max: 64 }\n    env: { OOM_COST_LIMIT: "1000" }\n`);
  const r = await runCli(['run', '-c', config, '-i', input, '-o', out, '--progress', 'none', '--json']);
  const lines = readOutput(out);
  assert.deepEqual(lines.filter((l) => l.error).map((l) => [l.id, l.error!.code]), [[7, 'GPUPOOL_E_OUT_OF_MEMORY']], r.stderr);
  assert.equal(lines.filter((l) => l.output).length, 2_999);
  const limit = (JSON.parse(r.stdout) as { batchLimits: Record<string, number> }).batchLimits['cpu:0'];
  assert.equal(limit, 64, 'one item that never fits lowered the limit of the others');
  const status = JSON.parse((await runCli(['status', out, '--json'])).stdout) as { learnedLimits: Record<string, Record<string, { limit: number }>> };
  assert.equal(status.learnedLimits.echo['cpu:0'].limit, 64, 'the next run would start lower');
});
