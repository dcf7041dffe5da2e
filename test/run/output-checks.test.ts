// `-o` is checked before the journal is opened or any worker starts: a folder, a pipe, a device
// or the input file itself is refused by name, and a folder that cannot be made (procfs) is an
// error, not a spin. A write that fails later is the same code, naming the file.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { CLI, echoConfig, pyWorker, readOutput, runCli, tempDir, writeConfig, writeJsonl } from '../helpers/cli.js';

test('an output that is a folder (or ends with a slash), stdout (-), a pipe, a device, the input itself, or under /proc is refused before any worker starts; the input is untouched', async () => {
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
    [fifo, /-o .*fifo is not a regular file \(a pipe, a socket or a block device\)/],
    ['/dev/null', /-o \/dev\/null is a device: pass --state-dir for the journal, which would otherwise be made beside it \(\/dev\/\.gpupool\/null\)/],
    ['', /-o needs the path of a file, got ""/],
    // path.resolve dropped the slash, and a file named like the folder was written.
    [`${path.join(dir, 'results')}/`, /-o .*results\/ ends with a slash, as a folder does: pass the path of a file \(it is made if missing\), e\.g\. .*results\/out\.jsonl/],
    ['-', /-o - \(stdout\) is not taken: results are written to a file at byte offsets, which a run resumes from; pass the path of a file \(\.\/- for a file named "-"\)/],
    // procfs answers ENOENT to a mkdir: Node's recursive mkdir retried it for ever at 100% CPU.
    ['/proc/version', /cannot make the folder \/proc\/\.gpupool\/version for the journal \(beside the output; --state-dir puts it elsewhere\): ENOENT: no such file or directory, mkdir '\/proc\/\.gpupool'/],
  ];
  for (const [output, message] of cases) {
    const r = await runCli(['run', '-c', cfg, '-i', input, '-o', output, '--progress', 'none'], { timeoutMs: 30_000 });
    assert.equal(r.code, 11, `${output}: ${r.signal ?? ''} ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`GPUPOOL_E_OUTPUT: ${message.source}`), output);
    assert.doesNotMatch(r.stderr, /WORKER_START|\n\s+at /, `${output}: no worker started, no stack`);
    assert.deepEqual(fs.readFileSync(input), before, `${output}: the input is untouched`);
  }
  // The input given on stdin from the same file.
  const stdin = spawnSync(process.execPath, [CLI, 'run', '-c', cfg, '-i', '-', '-o', input, '--progress', 'none'], { stdio: [fs.openSync(input, 'r'), 'pipe', 'pipe'], encoding: 'utf8', timeout: 30_000 });
  assert.equal(stdin.status, 11, stdin.stderr);
  assert.match(stdin.stderr, /GPUPOOL_E_OUTPUT: -o .*in\.jsonl is the input \(stdin\): the results would overwrite it/);
  assert.deepEqual(fs.readFileSync(input), before, 'stdin: the input is untouched');
});

test('outputs that work: nested folders not made yet, a link whose target (and its folder) do not exist yet, /dev/null with --state-dir', async () => {
  const dir = tempDir();
  const cfg = echoConfig(dir);
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 5);
  const nested = path.join(dir, 'a', 'b', 'out.jsonl');
  const target = path.join(dir, 'elsewhere', 'results.jsonl');
  const link = path.join(dir, 'out-link.jsonl');
  fs.symlinkSync(target, link);
  for (const [output, extra] of [[nested, []], [link, []], ['/dev/null', ['--state-dir', path.join(dir, 'null-state')]]] as const) {
    const r = await runCli(['run', '-c', cfg, '-i', input, '-o', output, '--progress', 'none', ...extra]);
    assert.equal(r.code, 0, `${output}: ${r.stderr}`);
  }
  assert.equal(readOutput(nested).length, 5);
  assert.equal(readOutput(target).length, 5, 'written through the link');
  // status finds the /dev/null run's journal through the same --state-dir, with or without OUTPUT.
  const state = path.join(dir, 'null-state');
  for (const args of [['/dev/null', '--state-dir', state], ['--state-dir', state]]) {
    const s = await runCli(['status', ...args, '--json']);
    assert.equal(s.code, 0, `${args.join(' ')}: ${s.stderr}`);
    assert.deepEqual((JSON.parse(s.stdout) as { counts: unknown }).counts, { done: 5, failed: 0, total: 5 });
  }
  // Run again, the /dev/null job resumes: nothing to do (a device keeps no bytes for the journal to check).
  const again = await runCli(['run', '-c', cfg, '-i', input, '-o', '/dev/null', '--progress', 'none', '--json', '--state-dir', state]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal((JSON.parse(again.stdout) as { resumed: number }).resumed, 5);
  const without = await runCli(['status', '/dev/null']);
  assert.equal(without.code, 4, without.stderr);
  assert.match(without.stderr, /GPUPOOL_E_NOT_FOUND: no journal for "\/dev\/null" \(looked in \/dev\/\.gpupool\/null; a run given --state-dir keeps it there: give status the same; a `gpupool submit --journal redis` job's is in Redis: gpupool status --redis URL JOB\)/);
});

test('an output that takes no positioned writes (a file of /proc, with the journal elsewhere) fails naming it, with the writer thread or without', async () => {
  const dir = tempDir();
  const cfg = echoConfig(dir);
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
