// `-i DIR` and `-i GLOB`: each file is one input {"path": …}, through real workers.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { echoConfig, readOutput, runCli, tempDir } from '../helpers/cli.js';

/** A folder `pages` holding `names` (each file's content its name), and a config of one CPU no-op worker. */
function pagesJob(names: string[]): { dir: string; pages: string; cfg: string } {
  const dir = tempDir();
  const pages = path.join(dir, 'pages');
  fs.mkdirSync(pages);
  for (const name of names) fs.writeFileSync(path.join(pages, name), name);
  return { dir, pages, cfg: echoConfig(dir) };
}

test('a directory and a glob (a folder part or none): one item {"path": absolute} per file, its id the path as found', async () => {
  const dir = tempDir();
  const pages = path.join(dir, 'pages');
  fs.mkdirSync(path.join(pages, 'b-sub'), { recursive: true });
  for (const name of ['c.png', 'a.png', 'b-sub/d.png', 'notes.txt']) fs.writeFileSync(path.join(pages, name), name);
  const cfg = echoConfig(dir);
  const out = path.join(dir, 'out.jsonl');

  const walked = await runCli(['run', '-c', cfg, '-i', pages, '-o', out, '--progress', 'none', '--fresh']);
  assert.equal(walked.code, 0, walked.stderr);
  const all = readOutput(out).sort((x, y) => String(x.id).localeCompare(String(y.id)));
  const expected = ['a.png', 'b-sub/d.png', 'c.png', 'notes.txt'].map((n) => path.join(pages, n));
  assert.deepEqual(all.map((l) => l.id), expected);
  for (const l of all) assert.deepEqual(l.output, { path: l.id });

  const globbed = await runCli(['run', '-c', cfg, '-i', path.join(pages, '*.png'), '-o', out, '--progress', 'none', '--fresh']);
  assert.equal(globbed.code, 0, globbed.stderr);
  assert.deepEqual(readOutput(out).map((l) => l.id).sort(), [path.join(pages, 'a.png'), path.join(pages, 'c.png')]);

  // A glob with no folder part starts from the working directory; ids are the paths as found.
  const here = await runCli(['run', '-c', cfg, '-i', '*.png', '-o', out, '--progress', 'none', '--fresh'], { cwd: pages });
  assert.equal(here.code, 0, here.stderr);
  assert.deepEqual(readOutput(out).map((l) => [l.id, l.output]).sort(), [
    ['a.png', { path: path.join(pages, 'a.png') }],
    ['c.png', { path: path.join(pages, 'c.png') }],
  ]);
});

test('an output (and its journal) inside the folder being read are not inputs of the run, first run or resumed', async () => {
  const { pages, cfg } = pagesJob(['1.png', '2.png', '3.png']);
  const out = path.join(pages, 'results.jsonl');
  for (const run of ['first', 'again']) {
    const r = await runCli(['run', '-c', cfg, '-i', pages, '-o', out, '--progress', 'none', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readOutput(out).map((l) => l.id).sort(), ['1.png', '2.png', '3.png'].map((n) => path.join(pages, n)), run);
  }
  assert.ok(fs.existsSync(path.join(pages, '.gpupool')), 'the journal is in the folder read');
  assert.doesNotMatch((await runCli(['status', out])).stdout, /^input:/m, 'status leaves them out too: the folder did not change');
  fs.writeFileSync(path.join(pages, '4.png'), '4');
  assert.match((await runCli(['status', out])).stdout, /^input: changed since .*"4 files, listing sha256 [0-9a-f]{32}" now\): the same command resumes it/m);
});

test('left out through links too: the folder read through a link, the output through another', async () => {
  const dir = tempDir();
  const pages = path.join(dir, 'pages');
  fs.mkdirSync(pages);
  for (const name of ['1.png', '2.png', '3.png']) fs.writeFileSync(path.join(pages, name), name);
  fs.symlinkSync(pages, path.join(dir, 'in-link'));
  fs.symlinkSync(pages, path.join(dir, 'out-link'));
  const cfg = echoConfig(dir);
  const out = path.join(dir, 'out-link', 'results.jsonl');
  const r = await runCli(['run', '-c', cfg, '-i', path.join(dir, 'in-link'), '-o', out, '--progress', 'none', '--state-dir', path.join(dir, 'out-link', 'state')]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readOutput(out).map((l) => path.basename(String(l.id))).sort(), ['1.png', '2.png', '3.png']);
  const status = await runCli(['status', '--state-dir', path.join(dir, 'out-link', 'state')]);
  assert.equal(status.code, 0, status.stderr);
  assert.doesNotMatch(status.stdout, /^input:/m, 'status leaves out the output and the journal as the run did');
});

test('an input with no inputs (an empty file, an empty folder, a glob that matches nothing) succeeds with a warning', async () => {
  const dir = tempDir();
  const cfg = echoConfig(dir);
  fs.writeFileSync(path.join(dir, 'empty.jsonl'), '\n\n');
  fs.mkdirSync(path.join(dir, 'nothing'));
  for (const input of [path.join(dir, 'empty.jsonl'), path.join(dir, 'nothing'), path.join(dir, 'nothing', '*.png')]) {
    const r = await runCli(['run', '-c', cfg, '-i', input, '-o', path.join(dir, 'out.jsonl'), '--fresh', '--progress', 'none']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`gpupool: warning: the input ${JSON.stringify(input).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} holds no inputs`));
    assert.equal(fs.readFileSync(path.join(dir, 'out.jsonl'), 'utf8'), '');
  }
  // Nor a shard that got none of a one-line input.
  fs.writeFileSync(path.join(dir, 'one.jsonl'), '{"a":1}\n');
  const shard = await runCli(['run', '-c', cfg, '-i', path.join(dir, 'one.jsonl'), '-o', path.join(dir, 'out.jsonl'), '--fresh', '--progress', 'none', '--shard', '1/2']);
  assert.equal(shard.code, 0, shard.stderr);
  assert.doesNotMatch(shard.stderr, /warning/);
  // A run that finds inputs says nothing of the kind.
  fs.writeFileSync(path.join(dir, 'nothing', 'a.png'), 'x');
  const some = await runCli(['run', '-c', cfg, '-i', path.join(dir, 'nothing'), '-o', path.join(dir, 'out.jsonl'), '--fresh', '--progress', 'none']);
  assert.equal(some.code, 0, some.stderr);
  assert.doesNotMatch(some.stderr, /warning/);
});

test('a folder whose files changed since its journal was made is not resumed by position; one whose files were only edited is', async () => {
  const { dir, pages, cfg } = pagesJob(['b.png', 'd.png']);
  const out = path.join(dir, 'out.jsonl');
  const args = ['run', '-c', cfg, '-i', pages, '-o', out, '--progress', 'none', '--json'];
  assert.equal((await runCli(args)).code, 0);
  const before = fs.readFileSync(out, 'utf8');

  // Edited in place: no file moved, so the journal still numbers the same files.
  fs.writeFileSync(path.join(pages, 'b.png'), 'edited');
  const edited = await runCli(args);
  assert.equal(edited.code, 0, edited.stderr);
  assert.equal((JSON.parse(edited.stdout) as { resumed: number }).resumed, 2);

  // A file added before the others shifts them: resumed by position, a.png would be skipped as
  // done and d.png written twice. Refused, naming both listings; the output is untouched.
  fs.writeFileSync(path.join(pages, 'a.png'), 'new');
  const added = await runCli(args);
  assert.equal(added.code, 10, added.stderr);
  const message = (JSON.parse(added.stderr) as { message: string }).message;
  assert.match(message, /"inputState":"2 files, listing sha256 [0-9a-f]{32}"/);
  assert.match(message, /"inputState":"3 files, listing sha256 [0-9a-f]{32}"/);
  assert.match(message, /differs in: inputState\n/);
  assert.equal(fs.readFileSync(out, 'utf8'), before);

  // Removed again, the listing is the journal's: resumed. Renamed (same count), refused.
  fs.rmSync(path.join(pages, 'a.png'));
  assert.equal((JSON.parse((await runCli(args)).stdout) as { resumed: number }).resumed, 2);
  const relative = await runCli(['run', '-c', cfg, '-i', 'pages', '-o', 'out.jsonl', '--progress', 'none', '--json'], { cwd: dir });
  assert.equal(relative.code, 0, relative.stderr);
  assert.equal((JSON.parse(relative.stdout) as { resumed: number }).resumed, 2, 'named relative to another folder: the same listing');
  fs.renameSync(path.join(pages, 'd.png'), path.join(pages, 'c.png'));
  assert.equal((await runCli(args)).code, 10);
  const fresh = await runCli([...args, '--fresh']);
  assert.equal(fresh.code, 0, fresh.stderr);
  assert.deepEqual(readOutput(out).map((l) => path.basename(String(l.id))).sort(), ['b.png', 'c.png']);
});

test('an output given as a link into the folder read, to a file not made yet, is left out on the first run and on the next', async () => {
  const dir = tempDir();
  const pages = path.join(dir, 'pages');
  fs.mkdirSync(pages);
  for (const name of ['1.png', '2.png']) fs.writeFileSync(path.join(pages, name), name);
  fs.symlinkSync('real-out.jsonl', path.join(pages, 'out.jsonl')); // dangling until the run writes it
  const cfg = echoConfig(dir);
  const args = ['run', '-c', cfg, '-i', pages, '-o', path.join(pages, 'out.jsonl'), '--progress', 'none', '--json'];
  const first = await runCli(args);
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(readOutput(path.join(pages, 'real-out.jsonl')).map((l) => path.basename(String(l.id))), ['1.png', '2.png']);
  const again = await runCli(args);
  assert.equal(again.code, 0, again.stderr);
  assert.equal((JSON.parse(again.stdout) as { resumed: number }).resumed, 2);
});

test('a folder that only gained files after its last one resumes: its new files run, the others are not run again', async () => {
  const { dir, pages, cfg } = pagesJob(['2026-12-01.png', '2026-12-02.png']);
  const out = path.join(dir, 'out.jsonl');
  const args = ['run', '-c', cfg, '-i', path.join(pages, '*.png'), '-o', out, '--progress', 'none', '--json'];
  assert.equal((await runCli(args)).code, 0);
  fs.writeFileSync(path.join(pages, '2026-12-03.png'), 'the next day');
  // status walks the folder as the run will, leaving out the run's own files.
  const status = await runCli(['status', out]);
  assert.match(status.stdout, /^input: changed since the journal took it \("2 files, listing sha256 [0-9a-f]{32}" then, "3 files, listing sha256 [0-9a-f]{32}" now\): the same command resumes it and runs the files added after its last$/m);
  const statusJson = JSON.parse((await runCli(['status', out, '--json'])).stdout) as { inputNow: string; inputResumes: unknown };
  assert.deepEqual([statusJson.inputNow.startsWith('3 files, listing sha256 '), statusJson.inputResumes], [true, true]);
  const grown = await runCli(args);
  assert.equal(grown.code, 0, grown.stderr);
  const summary = JSON.parse(grown.stdout) as { done: number; resumed: number };
  assert.deepEqual([summary.resumed, summary.done], [2, 1]);
  assert.deepEqual(readOutput(out).map((l) => path.basename(String(l.id))).sort(), ['2026-12-01.png', '2026-12-02.png', '2026-12-03.png'], 'each file once');
  // The journal now holds the grown listing: run again, nothing to do; a file before the others is refused.
  assert.equal((JSON.parse((await runCli(args)).stdout) as { resumed: number }).resumed, 3);
  assert.doesNotMatch((await runCli(['status', out])).stdout, /^input:/m, 'the same listing: nothing said');
  fs.writeFileSync(path.join(pages, '2026-11-30.png'), 'late');
  assert.match((await runCli(['status', out])).stdout, /^input: changed since .*: the same command will refuse it: its first 3 files in walk order are not those of then: a file was added before others, removed or renamed$/m);
  const refusing = JSON.parse((await runCli(['status', out, '--json'])).stdout) as { inputResumes: unknown; inputRefusal: unknown };
  assert.deepEqual([refusing.inputResumes, refusing.inputRefusal], [false, 'its first 3 files in walk order are not those of then: a file was added before others, removed or renamed']);
  assert.equal((await runCli(args)).code, 10);
  fs.rmSync(pages, { recursive: true });
  assert.match((await runCli(['status', out])).stdout, /^input: gone since the journal took it \("3 files, listing sha256 [0-9a-f]{32}"\): a run needs it back as it was$/m);
});

test('a folder read through a link, with the output in it in a folder not made yet: the same job on the first run and the next', async () => {
  const { dir } = pagesJob([]);
  const real = path.join(dir, 'real');
  fs.mkdirSync(path.join(real, 'pages'), { recursive: true });
  for (const name of ['1.png', '2.png']) fs.writeFileSync(path.join(real, 'pages', name), name);
  fs.symlinkSync(real, path.join(dir, 'link'));
  const { cfg } = pagesJob([]);
  const args = ['run', '-c', cfg, '-i', path.join(dir, 'link', 'pages'), '-o', path.join(dir, 'link', 'pages', 'res', 'out.jsonl'), '--progress', 'none', '--json'];
  assert.equal((await runCli(args)).code, 0);
  const again = await runCli(args);
  assert.equal(again.code, 0, again.stderr);
  assert.equal((JSON.parse(again.stdout) as { resumed: number }).resumed, 2);
});

test('a TMPDIR where the folder listing cannot be kept is a usage error naming it, not a read error of the input', async () => {
  const { dir, pages, cfg } = pagesJob(['1.png']);
  const r = await runCli(['run', '-c', cfg, '-i', pages, '-o', path.join(dir, 'out.jsonl'), '--progress', 'none'], { env: { TMPDIR: path.join(dir, 'no-such-folder') } });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /GPUPOOL_E_USAGE: cannot keep the listing of a folder input in the temporary folder .*no-such-folder \(\$TMPDIR\): ENOENT.*; set TMPDIR to a folder gpupool can write/);
});

test('the same folder through a link is the same job: a run resumes whichever way the folder is named', async () => {
  const { dir, pages, cfg } = pagesJob(['1.png', '2.png']);
  fs.symlinkSync(pages, path.join(dir, 'pages-link'));
  const out = path.join(dir, 'out.jsonl');
  assert.equal((await runCli(['run', '-c', cfg, '-i', pages, '-o', out, '--progress', 'none'])).code, 0);
  const again = await runCli(['run', '-c', cfg, '-i', path.join(dir, 'pages-link'), '-o', out, '--progress', 'none', '--json']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal((JSON.parse(again.stdout) as { resumed: number }).resumed, 2);
});
