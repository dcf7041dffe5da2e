import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { CLI, pyWorker, readOutput, ROOT, runCli, tempDir, writeConfig, writeJsonl } from '../helpers/cli.js';

function echoConfig(dir: string, extra = '', worker = 'noop_worker.py'): string {
  return writeConfig(dir, `models:\n  echo:\n    command: ${pyWorker(worker)}\n    devices: cpu\n    workers_per_device: 4\n    batch: { max: 64, timeout: 2ms }\n${extra}`);
}

test('100,000 JSONL items through four Python workers on CPU: exactly 100,000 lines, each id once, right outputs', async () => {
  const dir = tempDir();
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 100_000, (i) => ({ n: i }));
  const out = path.join(dir, 'out.jsonl');
  const r = await runCli(['run', '-c', echoConfig(dir), '-i', input, '-o', out, '--progress', 'none', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const lines = readOutput(out);
  assert.equal(lines.length, 100_000);
  const ids = new Set(lines.map((l) => l.id));
  assert.equal(ids.size, 100_000);
  for (const l of lines) assert.deepEqual(l.output, { n: (l.id as number) - 1 });
  const summary = JSON.parse(r.stdout) as { done: number; devices: { key: string }[] };
  assert.equal(summary.done, 100_000);
  assert.deepEqual(summary.devices.map((d) => d.key), ['cpu:0']);
});

test('a malformed line is reported with its line number and the others still run; exit code 1, the summary counting failures by code', async () => {
  const dir = tempDir();
  const input = path.join(dir, 'in.jsonl');
  fs.writeFileSync(input, '{"a":1}\n{"b":\n\n{"c":3}\n');
  const out = path.join(dir, 'out.jsonl');
  const r = await runCli(['run', '-c', echoConfig(dir), '-i', input, '-o', out, '--progress', 'plain', '--json']);
  assert.equal(r.code, 1);
  // Bad input told from a model's failures (both exit 1): by code, with the first one's line.
  assert.match(r.stderr, /^ {2}failed: 1 GPUPOOL_E_INPUT_PARSE \(first: line 2\)$/m);
  assert.deepEqual((JSON.parse(r.stdout) as { failedByCode: unknown }).failedByCode, { GPUPOOL_E_INPUT_PARSE: { count: 1, firstId: 2 } });
  const byId = new Map(readOutput(out).map((l) => [l.id, l]));
  assert.equal(byId.size, 3, 'one output line per input line (the blank line is not an input)');
  assert.deepEqual(byId.get(1)?.output, { a: 1 });
  assert.equal(byId.get(2)?.error?.code, 'GPUPOOL_E_INPUT_PARSE');
  assert.match(byId.get(2)!.error!.message, /line 2 is not valid JSON/);
  assert.deepEqual(byId.get(4)?.output, { c: 3 });
  // The finished job's total counts inputs, not lines: the blank line is not one.
  const status = await runCli(['status', out, '--json']);
  assert.equal(status.code, 0, status.stderr);
  assert.deepEqual((JSON.parse(status.stdout) as { counts: unknown }).counts, { done: 2, failed: 1, total: 3 });
});

test('--on-error stop stops at the first failure', async () => {
  const dir = tempDir();
  const input = path.join(dir, 'in.jsonl');
  fs.writeFileSync(input, `not json\n${Array.from({ length: 50_000 }, (_, i) => JSON.stringify({ i })).join('\n')}\n`);
  const out = path.join(dir, 'out.jsonl');
  const r = await runCli(['run', '-c', echoConfig(dir), '-i', input, '-o', out, '--progress', 'none', '--on-error', 'stop', '--max-pending', '64']);
  // The exit status of the failure it stopped at (GPUPOOL_E_INPUT_PARSE: 9), and why on stderr.
  assert.equal(r.code, 9, r.stderr);
  assert.match(r.stderr, /gpupool: stopped at the first failure \(--on-error stop\): item 1: GPUPOOL_E_INPUT_PARSE: line 1 is not valid JSON/);
  const lines = readOutput(out);
  assert.equal(lines[0].error?.code, 'GPUPOOL_E_INPUT_PARSE');
  assert.ok(lines.length < 50_001, `stopped early (${lines.length} lines)`);
});

test('bad input gets one clear line and a distinct exit code each', async () => {
  const dir = tempDir();
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 3);
  const out = path.join(dir, 'out.jsonl');
  const cases: { name: string; config: string; args?: string[]; code: number; message: RegExp }[] = [
    {
      name: 'config error',
      config: `models:\n  echo:\n    command: ${pyWorker('noop_worker.py')}\n    batch: { max: 0 }\n`,
      code: 3,
      message: /GPUPOOL_E_CONFIG: .*`models\.echo\.batch\.max` .*>=1.*got 0/,
    },
    { name: 'unknown key', config: `models:\n  echo:\n    command: [x]\n    bach: {}\n`, code: 3, message: /unknown key\(s\) "bach"/ },
    { name: 'unknown model', config: `models:\n  echo:\n    command: ${pyWorker('noop_worker.py')}\n`, args: ['-m', 'nope'], code: 4, message: /unknown model "nope"; the config defines: echo/ },
    { name: 'missing command', config: `models:\n  echo:\n    command: [./no-such-worker.sh]\n    devices: cpu\n`, code: 5, message: /GPUPOOL_E_COMMAND_NOT_FOUND: worker command "\.\/no-such-worker\.sh"/ },
    {
      // The usual form: before, python3 started, said "can't open file", and it was exit 6 as a worker failing its setup.
      name: 'missing worker script',
      config: `models:\n  echo:\n    command: [python3, no_such_worker.py]\n    devices: cpu\n`,
      code: 5,
      message: /GPUPOOL_E_COMMAND_NOT_FOUND: worker script "no_such_worker\.py" \(.*\/no_such_worker\.py\) does not exist: python3 would exit at once \(paths in `command` are relative to the config's folder\)$/m,
    },
    {
      name: 'worker exits during start',
      config: `models:\n  echo:\n    command: ${pyWorker('setup_fail_worker.py')}\n    devices: cpu\n`,
      code: 6,
      message: /GPUPOOL_E_WORKER_START: worker echo\/cpu:0\/0 failed to start: RuntimeError: model file not found: \/nonexistent\/model\.bin; worker echo\/cpu:0\/0 exited with code 1 \(log: .*echo_cpu_0_0\.log\)$/m,
    },
    {
      name: 'worker that never serves',
      config: `models:\n  echo:\n    command: [python3, ${JSON.stringify(path.join(ROOT, 'test', 'run', 'fixtures', 'no_serve_worker.py'))}]\n    devices: cpu\n`,
      code: 6,
      message: /GPUPOOL_E_WORKER_START: worker echo\/cpu:0\/0 failed to start: worker echo\/cpu:0\/0 exited with code 0 before it said hello: does it call gpupool\.serve\(\.\.\.\) \(Python\)/,
    },
    { name: 'unknown device', config: `models:\n  echo:\n    command: ${pyWorker('noop_worker.py')}\n`, args: ['--devices', '7'], code: 7, message: /GPUPOOL_E_UNKNOWN_DEVICE: --devices 7: no device "7"/ },
    // Named by its key and file: it read as a bad --devices flag.
    { name: 'unknown device in the config', config: `models:\n  echo:\n    command: ${pyWorker('noop_worker.py')}\n    devices: gpu0\n`, code: 7, message: /GPUPOOL_E_UNKNOWN_DEVICE: `models\.echo\.devices` in .*unknown-device-in-the-config\.yaml: no device "gpu0"; write `all`, `cpu`/ },
    {
      // The key as the user wrote it, not the option's name inside gpupool (`devicesPerWorker`).
      name: 'more devices per worker than chosen',
      config: `models:\n  echo:\n    command: ${pyWorker('noop_worker.py')}\n    devices: cpu\n    devices_per_worker: 2\n`,
      code: 3,
      message: /GPUPOOL_E_CONFIG: `models\.echo\.devices_per_worker` is 2 but 1 device was chosen \(cpu:0\): choose a multiple of 2 devices, or a `models\.echo\.devices_per_worker` that divides 1\./,
    },
  ];
  // And with both threads on (the default from 4 CPUs): a run that fails before its output is
  // closed must still exit (a writer thread once held it open for ever).
  for (const threads of ['off', 'on']) {
    for (const c of cases) {
      const cfg = writeConfig(dir, c.config, `${c.name.replace(/ /g, '-')}.yaml`);
      const r = await runCli(['run', '-c', cfg, '-i', input, '-o', out, '--progress', 'none', '--fresh', ...(c.args ?? [])], {
        env: { GPUPOOL_READER_THREAD: threads, GPUPOOL_WRITER_THREAD: threads },
        timeoutMs: 30_000,
      });
      assert.equal(r.code, c.code, `${c.name}, threads ${threads}: ${r.stderr}`);
      assert.match(r.stderr, c.message, c.name);
      // One line and its remedy: a worker whose setup raised printed its whole traceback here.
      assert.match(r.stderr, /^gpupool: [^\n]+\n {2}remedy: [^\n]+\n$/, `${c.name}: ${r.stderr}`);
    }
  }
  const missing = await runCli(['run', '-c', echoConfig(dir), '-i', path.join(dir, 'nope.jsonl'), '-o', out, '--progress', 'none']);
  assert.equal(missing.code, 8);
  assert.match(missing.stderr, /GPUPOOL_E_INPUT_NOT_FOUND: input ".*nope\.jsonl" does not exist/);
  // An input that cannot be read (EIO: Linux refuses a read of a process's own memory at offset
  // 0) is a clear input error without a stack, found before any worker starts (input-probe.test.ts).
  const unreadable = await runCli(['run', '-c', echoConfig(dir), '-i', '/proc/self/mem', '-o', out, '--progress', 'none', '--fresh']);
  assert.equal(unreadable.code, 8, unreadable.stderr);
  assert.match(unreadable.stderr, /GPUPOOL_E_INPUT_READ: cannot read the input \/proc\/self\/mem: EIO: i\/o error, read/);
  assert.doesNotMatch(unreadable.stderr, /\n\s+at /, 'no stack trace');
  const badThread = await runCli(['run', '-c', echoConfig(dir), '-i', input, '-o', out, '--progress', 'none', '--fresh'], { env: { GPUPOOL_READER_THREAD: 'yes' } });
  assert.equal(badThread.code, 2, badThread.stderr);
  assert.match(badThread.stderr, /GPUPOOL_E_USAGE: GPUPOOL_READER_THREAD="yes" is not allowed: auto \(a thread from 4 CPUs up\), on or off/);
  // Read before any worker starts.
  const badSpin = await runCli(['run', '-c', echoConfig(dir), '-i', input, '-o', out, '--progress', 'none', '--fresh'], { env: { GPUPOOL_ANSWER_POLL_US: 'fast' } });
  assert.equal(badSpin.code, 2, badSpin.stderr);
  assert.match(badSpin.stderr, /GPUPOOL_E_USAGE: GPUPOOL_ANSWER_POLL_US="fast": expected whole microseconds from 0 \(no polling\) to 1000000/);
  assert.doesNotMatch(badSpin.stderr, /\n\s+at /, 'no stack trace');
  const noConfig = await runCli(['run', '-c', path.join(dir, 'none.yaml'), '-i', input, '-o', out]);
  assert.equal(noConfig.code, 3);
  assert.match(noConfig.stderr, /config file ".*none\.yaml" does not exist/);
});

test('a directory input: each file is {"path": …}, its id the path', async () => {
  const dir = tempDir();
  const pages = path.join(dir, 'pages');
  fs.mkdirSync(path.join(pages, 'sub'), { recursive: true });
  for (const f of ['b.png', 'a.png', 'sub/c.png']) fs.writeFileSync(path.join(pages, f), 'x');
  const out = path.join(dir, 'out.jsonl');
  const r = await runCli(['run', '-c', echoConfig(dir), '-i', pages, '-o', out, '--progress', 'none']);
  assert.equal(r.code, 0, r.stderr);
  const lines = readOutput(out).sort((x, y) => String(x.id).localeCompare(String(y.id)));
  assert.deepEqual(lines.map((l) => path.relative(pages, String(l.id))), ['a.png', 'b.png', 'sub/c.png']);
  assert.deepEqual(lines[0].output, { path: path.join(pages, 'a.png') });
});

test('--shard I/N processes the items whose position modulo N is I; the shards together cover the input once', async () => {
  const dir = tempDir();
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 1000);
  const ids: (string | number)[] = [];
  for (const s of ['0/3', '1/3', '2/3']) {
    const out = path.join(dir, `out-${s.replace('/', '-')}.jsonl`);
    const r = await runCli(['run', '-c', echoConfig(dir), '-i', input, '-o', out, '--progress', 'none', '--shard', s]);
    assert.equal(r.code, 0, r.stderr);
    const lines = readOutput(out);
    const k = Number(s[0]);
    assert.ok(lines.every((l) => ((l.id as number) - 1) % 3 === k));
    ids.push(...lines.map((l) => l.id));
    // Each shard's journal is its own: finished, with its share of the inputs as the total.
    const status = JSON.parse((await runCli(['status', out, '--json'])).stdout) as { finished: boolean; counts: { done: number; total: number } };
    assert.deepEqual([status.finished, status.counts.total], [true, lines.length]);
  }
  assert.equal(new Set(ids).size, 1000);
  assert.equal(ids.length, 1000);
});

test('the reader thread (GPUPOOL_READER_THREAD=on), from a file and from stdin: one output line per input line, a bad line named by its number', async () => {
  const dir = tempDir();
  const lines = Array.from({ length: 30_000 }, (_, i) => (i === 20_000 ? '{"broken":' : i === 25_000 ? '' : JSON.stringify({ n: i, s: i % 11 === 0 ? 'é😀' : 'a' })));
  const input = path.join(dir, 'in.jsonl');
  fs.writeFileSync(input, lines.join('\n') + '\n');
  for (const from of ['file', 'stdin'] as const) {
    const out = path.join(dir, `out-${from}.jsonl`);
    const args = ['run', '-c', echoConfig(dir), '-i', from === 'file' ? input : '-', '-o', out, '--progress', 'none'];
    const r = await runCli([...args, '--json'], { env: { GPUPOOL_READER_THREAD: 'on' }, input: from === 'stdin' ? fs.readFileSync(input, 'utf8') : undefined });
    assert.equal(r.code, 1, r.stderr); // the broken line fails
    assert.equal((JSON.parse(r.stdout) as { readerThread: boolean }).readerThread, true, 'read on the thread');
    const byId = new Map(readOutput(out).map((l) => [l.id, l]));
    assert.equal(byId.size, 29_999, `${from}: one line per input line (the blank one is not an input)`);
    assert.equal(byId.get(20_001)?.error?.code, 'GPUPOOL_E_INPUT_PARSE');
    assert.match(byId.get(20_001)!.error!.message, /line 20001 is not valid JSON/);
    for (const [id, l] of byId) if (id !== 20_001) assert.deepEqual(l.output, JSON.parse(lines[(id as number) - 1]), `${from}: id ${id}`);
  }
  // Node started with V8 flags: the thread inherits them (given to a worker explicitly, V8's are refused).
  const flagged = spawnSync(process.execPath, ['--max-old-space-size=1024', '--stack-size=2000', CLI, 'run', '-c', echoConfig(dir), '-i', input, '-o', path.join(dir, 'out-flags.jsonl'), '--progress', 'none', '--json'], {
    env: { ...process.env, GPUPOOL_READER_THREAD: 'on' },
    encoding: 'utf8',
  });
  assert.equal(flagged.status, 1, flagged.stderr); // the broken line, as above
  const summary = JSON.parse(flagged.stdout) as { done: number; failed: number; readerThread: boolean };
  assert.deepEqual([summary.done, summary.failed, summary.readerThread], [29_998, 1, true]);
});

test('the writer thread (GPUPOOL_WRITER_THREAD=on): the same output file as without it, byte for byte; a bad line still named by its number', async () => {
  const dir = tempDir();
  const one = (extra = '') => writeConfig(dir, `models:\n  echo:\n    command: ${pyWorker('noop_worker.py')}\n    devices: cpu\n    batch: { max: 64, timeout: 2ms }\n${extra}`);
  const valid = Array.from({ length: 30_000 }, (_, i) => JSON.stringify({ n: i, s: i % 7 === 0 ? 'é😀\u0000"' : 'a'.repeat(i % 300) }));
  const input = path.join(dir, 'in.jsonl');
  fs.writeFileSync(input, valid.join('\n') + '\n');
  // One worker answers its batches in order, so the lines come in input order either way.
  const files: Buffer[] = [];
  for (const thread of ['off', 'on']) {
    const out = path.join(dir, `out-${thread}.jsonl`);
    const r = await runCli(['run', '-c', one(), '-i', input, '-o', out, '--progress', 'none', '--json'], { env: { GPUPOOL_WRITER_THREAD: thread } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { writerThread: boolean }).writerThread, thread === 'on');
    files.push(fs.readFileSync(out));
  }
  assert.ok(files[0].equals(files[1]), 'the files differ');
  assert.equal(files[1].toString().split('\n').length - 1, 30_000);
  // A failed line (written as the line is read) among the spans the thread makes.
  const broken = valid.map((l, i) => (i === 20_000 ? '{"broken":' : l));
  fs.writeFileSync(input, broken.join('\n') + '\n');
  const out = path.join(dir, 'out-broken.jsonl');
  const r = await runCli(['run', '-c', echoConfig(dir), '-i', input, '-o', out, '--progress', 'none', '--fresh'], { env: { GPUPOOL_WRITER_THREAD: 'on', GPUPOOL_READER_THREAD: 'on' } });
  assert.equal(r.code, 1, r.stderr);
  const byId = new Map(readOutput(out).map((l) => [l.id, l]));
  assert.equal(byId.size, 30_000);
  assert.match(byId.get(20_001)!.error!.message, /line 20001 is not valid JSON/);
  for (const [id, l] of byId) if (id !== 20_001) assert.deepEqual(l.output, JSON.parse(valid[(id as number) - 1]));
  const bad = await runCli(['run', '-c', echoConfig(dir), '-i', input, '-o', out, '--progress', 'none', '--fresh'], { env: { GPUPOOL_WRITER_THREAD: 'yes' } });
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /GPUPOOL_E_USAGE: GPUPOOL_WRITER_THREAD="yes" is not allowed: auto \(a thread from 4 CPUs up\), on or off/);
});

test('stdin input', async () => {
  const dir = tempDir();
  const out = path.join(dir, 'out.jsonl');
  const r = await runCli(['run', '-c', echoConfig(dir), '-i', '-', '-o', out, '--progress', 'none'], { input: '{"q":1}\n{"q":2}\n' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readOutput(out).length, 2);
});
