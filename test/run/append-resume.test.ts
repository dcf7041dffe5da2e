// A JSONL input that only gained lines after its last resumes its journal (`gpupool run`): the
// new lines run, the others are not run again, each id is in the output once; also after a run
// killed before its read reached the end. A file whose lines that ran were edited is refused,
// saying why.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { CLI, echoConfig, pyWorker, readOutput, runCli, startCli, tempDir, writeConfig, writeJsonl } from '../helpers/cli.js';
import { until } from '../helpers/until.js';

interface Summary {
  done: number;
  resumed: number;
}

test('lines added after the last of a JSONL file that ran: only they run, each id once; touched, it resumes; edited as well, it is refused saying why', async () => {
  const dir = tempDir();
  const input = path.join(dir, 'in.jsonl');
  fs.writeFileSync(input, '{"v":1}\n{"v":2}\n');
  const out = path.join(dir, 'out.jsonl');
  const config = echoConfig(dir);
  const args = ['run', '-c', config, '-i', input, '-o', out, '--progress', 'none', '--json'];
  assert.equal((await runCli(args)).code, 0);

  fs.appendFileSync(input, '{"v":3}\n\n{"v":5}\n');
  // status reads the journal, which says finished: it also says the input changed since.
  const before = await runCli(['status', out]);
  assert.match(before.stdout, /^state: finished; 2 done, 0 failed of 2\ninput: changed since the journal took it \("16 bytes, modified [^"]+" then, "33 bytes, modified [^"]+" now\): the same command resumes it and runs the lines added after its last\n/m);
  const beforeJson = JSON.parse((await runCli(['status', out, '--json'])).stdout) as { inputNow: string; inputResumes: unknown };
  assert.match(beforeJson.inputNow, /^33 bytes, modified /);
  assert.equal(beforeJson.inputResumes, true);
  const grown = await runCli(args);
  assert.equal(grown.code, 0, grown.stderr);
  const summary = JSON.parse(grown.stdout) as Summary;
  assert.deepEqual([summary.resumed, summary.done], [2, 2]);
  assert.deepEqual(
    readOutput(out).map((l) => [l.id, l.output]),
    [[1, { v: 1 }], [2, { v: 2 }], [3, { v: 3 }], [5, { v: 5 }]],
    'each line once, the new ones by their line numbers',
  );
  const status = JSON.parse((await runCli(['status', out, '--json'])).stdout) as { counts: unknown; finished: boolean; inputNow?: string };
  assert.deepEqual([status.counts, status.finished, status.inputNow], [{ done: 4, failed: 0, total: 4 }, true, undefined]);
  assert.doesNotMatch((await runCli(['status', out])).stdout, /^input:/m);

  // Touched, the same bytes: nothing to do.
  fs.utimesSync(input, new Date(), new Date(Date.now() + 5_000));
  const touched = await runCli(args);
  assert.equal(touched.code, 0, touched.stderr);
  assert.equal((JSON.parse(touched.stdout) as Summary).resumed, 4);

  // A line edited and one added: line 1 is another input now, so the journal is not taken.
  fs.writeFileSync(input, '{"v":"edited"}\n{"v":2}\n{"v":3}\n\n{"v":5}\n{"v":6}\n');
  // status tells ahead, checked as the run checks it.
  assert.match((await runCli(['status', out])).stdout, /^input: changed since .*: the same command will refuse it: its first 33 bytes are not those read before: a line there was edited or removed, not only lines added after the last$/m);
  const edited = await runCli(args);
  assert.equal(edited.code, 10, edited.stderr);
  const message = (JSON.parse(edited.stderr) as { message: string }).message; // --json: the error as JSON
  assert.match(message, /^the input changed since the journal in .* was made \("33 bytes, modified [^"]+" then, "48 bytes, modified [^"]+" now\).*\n {2}why: its first 33 bytes are not those read before: a line there was edited or removed, not only lines added after the last\n/);
  assert.equal(readOutput(out).length, 4, 'the output is untouched');
  fs.rmSync(input);
  assert.match((await runCli(['status', out])).stdout, /^input: gone since the journal took it \("33 bytes, modified [^"]+"\): a run needs it back as it was$/m);
});

for (const thread of ['off', 'on']) {
  test(`killed after the read reached the end of the file (reader thread ${thread}), lines added, run again: every id once`, async () => {
    const dir = tempDir();
    const n = 3_000;
    // ~2 ms an item: the run takes seconds, while its reader reaches the end of the file at once (the default --max-pending is larger).
    const input = writeJsonl(path.join(dir, 'in.jsonl'), n, (i) => ({ n: i, sleep_ms: 2 }));
    const out = path.join(dir, 'out.jsonl');
    const config = writeConfig(dir, `models:\n  echo:\n    command: ${pyWorker('slow_worker.py')}\n    devices: cpu\n    batch: { max: 16 }\n`);
    const args = ['run', '-c', config, '-i', input, '-o', out, '--progress', 'none', '--json'];
    const env = { GPUPOOL_READER_THREAD: thread };
    const { child, done } = startCli(args, { env });
    // The journal knows the file's digest once the read reached its end; kill once results are committed too.
    await until('the digest in the journal, and results', () => {
      const status = spawnSync(process.execPath, [CLI, 'status', out, '--json'], { encoding: 'utf8' });
      if (status.status !== 0) return false;
      const s = JSON.parse(status.stdout) as { meta: Record<string, unknown>; counts: { done: number } };
      return s.meta.inputDigest !== undefined && s.counts.done > 100;
    });
    child.kill('SIGKILL');
    await done;
    fs.appendFileSync(input, Array.from({ length: 10 }, (_, i) => JSON.stringify({ n: n + i }) + '\n').join(''));
    const again = await runCli(args, { env });
    assert.equal(again.code, 0, again.stderr);
    const ids = readOutput(out).map((l) => l.id as number);
    assert.equal(ids.length, n + 10);
    assert.equal(new Set(ids).size, n + 10, 'each id once');
    assert.equal(Math.max(...ids), n + 10);
  });
}

for (const thread of ['off', 'on']) {
  test(`reader thread ${thread}: a run killed before its read reached the end leaves the digest of what it had read: lines added after, or lines it had not read edited, resume, each id once; a line it had read edited is refused`, async () => {
    const dir = tempDir();
    const n = 3_000;
    // ~1 KB lines, ~3 MB: many reads of 64 KiB, so a run that keeps 64 items pending stops reading early.
    const line = (i: number, v: string) => ({ n: i, v, sleep_ms: 2, pad: 'x'.repeat(1000) });
    const config = writeConfig(dir, `models:\n  echo:\n    command: ${pyWorker('slow_worker.py')}\n    devices: cpu\n    batch: { max: 16 }\n`);
    const env = { ...process.env, GPUPOOL_READER_THREAD: thread };
    /** A run over a new copy of the input, killed once it has written 100 results; the journal's digest then. */
    const killedRun = async (name: string) => {
      const input = writeJsonl(path.join(dir, `${name}.jsonl`), n, (i) => line(i, 'aaaa'));
      const out = path.join(dir, `${name}.out.jsonl`);
      const base = ['run', '-c', config, '-i', input, '-o', out, '--progress', 'none'];
      const args = [...base, '--max-pending', '64'];
      const { child, done } = startCli(args, { env });
      // Whole lines counted, not parsed: the run may be midway through writing the last (~1 KB) one.
      await until('results', () => fs.existsSync(out) && fs.readFileSync(out, 'utf8').split('\n').length > 101);
      child.kill('SIGKILL');
      await done;
      const status = JSON.parse((await runCli(['status', out, '--json'])).stdout) as { meta: { inputDigest?: { bytes?: number } } };
      const read = status.meta.inputDigest?.bytes;
      assert.ok(read !== undefined && read < fs.statSync(input).size, `the digest of what was read, not all of the file: ${JSON.stringify(status.meta)}`);
      return { input, out, base, args, read };
    };
    /** Rewrites line `k` (1-based) in place, keeping its length: 'aaaa' → 'EDIT'. */
    const editLine = (input: string, k: number) => {
      const text = fs.readFileSync(input, 'utf8');
      const at = text.split('\n').slice(0, k - 1).join('\n').length + (k > 1 ? 1 : 0);
      const edited = text.slice(0, at) + text.slice(at).replace('"aaaa"', '"EDIT"');
      fs.writeFileSync(input, edited);
      return at;
    };

    // Lines added, and the last line (which the run had not read) edited: it resumes.
    const grown = await killedRun('grown');
    assert.ok(editLine(grown.input, n) > grown.read, 'the edited line lies after what was read');
    fs.appendFileSync(grown.input, `${JSON.stringify(line(n + 1, 'new'))}\n`);
    assert.match((await runCli(['status', grown.out])).stdout, /^input: changed since .*: the same command resumes it and runs the lines after those that ran$/m);
    const resumed = await runCli([...grown.base, '--max-pending', '4096'], { env });
    assert.equal(resumed.code, 0, resumed.stderr);
    const outputs = readOutput(grown.out);
    const ids = outputs.map((l) => l.id as number);
    assert.equal(ids.length, n + 1, 'every line once');
    assert.equal(new Set(ids).size, n + 1, 'each id once');
    const byId = new Map(outputs.map((l) => [l.id, (l.output as { v: string }).v]));
    assert.equal(byId.get(n), 'EDIT', 'the edited line ran as it is now');
    assert.equal(byId.get(n + 1), 'new');

    // Line 1, which the run had read (and run), edited: refused, saying why.
    const edited = await killedRun('edited');
    editLine(edited.input, 1);
    fs.appendFileSync(edited.input, `${JSON.stringify(line(n + 1, 'new'))}\n`);
    const refused = await runCli(edited.args, { env });
    assert.equal(refused.code, 10, refused.stderr);
    assert.ok(refused.stderr.includes(`  why: its first ${edited.read} bytes are not those read before: a line there was edited or removed, not only lines added after the last\n`), refused.stderr);
  });
}

test('a run killed before its first commit leaves a journal of nothing that ran: the file may then change in any way, and the next run resumes it', async () => {
  const dir = tempDir();
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 5, (i) => ({ n: i }));
  const out = path.join(dir, 'out.jsonl');
  const config = writeConfig(dir, `models:\n  echo:\n    command: ${pyWorker('slow_worker.py')}\n    devices: cpu\n    env: { SETUP_SLEEP_MS: "3000" }\n`);
  const args = ['run', '-c', config, '-i', input, '-o', out, '--progress', 'none', '--json'];
  const { child, done } = startCli(args);
  await until('the journal', () => fs.existsSync(path.join(dir, '.gpupool')));
  await new Promise((resolve) => setTimeout(resolve, 500));
  child.kill('SIGKILL');
  await done;
  fs.writeFileSync(input, '{"n":"edited"}\n{"n":"other"}\n'); // not only grown
  assert.match((await runCli(['status', out])).stdout, /^input: changed since .*: the same command resumes it/m);
  const again = await runCli(args);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(readOutput(out).map((l) => [l.id, l.output]), [[1, { n: 'edited' }], [2, { n: 'other' }]]);
});

test('a line edited while a later run loads its model is not taken as what ran: the run after that refuses the file', async () => {
  const dir = tempDir();
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 20, (i) => ({ n: i, v: 'aaaa' }));
  const out = path.join(dir, 'out.jsonl');
  const started = path.join(dir, 'setup-started');
  const config = writeConfig(dir, `models:\n  echo:\n    command: ${pyWorker('slow_worker.py')}\n    devices: cpu\n    env: { SETUP_SLEEP_MS: "2000", SETUP_STARTED_FILE: ${JSON.stringify(started)} }\n`);
  const args = ['run', '-c', config, '-i', input, '-o', out, '--progress', 'none'];
  assert.equal((await runCli(args)).code, 0);
  fs.rmSync(started);
  // A line added, so that the next run has work (a finished job with its input as it was loads no model).
  fs.appendFileSync(input, '{"n":20,"v":"aaaa"}\n');
  // The same command again: it opens the grown file, then loads its model for 2 s, while line 6 is edited in place.
  // Its worker's setup has begun only after the run opened the file (journal, digests): the edit waits for that, not
  // for a fixed time, which on a loaded machine came before the open (then the edit was seen and refused: exit 10).
  const again = startCli(args);
  await until('the second run\'s worker to begin loading its model', () => fs.existsSync(started));
  fs.writeFileSync(input, fs.readFileSync(input, 'utf8').replace('{"n":5,"v":"aaaa"}', '{"n":5,"v":"EDIT"}'));
  assert.equal((await again.done).code, 0);
  // Line 6 ran as it was, not as it is: the file is refused, not resumed with its old result.
  const after = await runCli(args);
  assert.equal(after.code, 10, after.stderr);
  assert.match(after.stderr, /why: it changed while a run read it \(its first \d+ bytes were not those read before\), so the lines that ran cannot be checked/);
});
