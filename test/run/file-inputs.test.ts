// `-i DIR` and `-i GLOB`: each file is one input {"path": …}, through real workers.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
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

test('a folder whose files changed in the middle since its journal was made is resumed by file name; one whose files were only edited resumes as it was', async () => {
  const { dir, pages, cfg } = pagesJob(['b.png', 'd.png']);
  const out = path.join(dir, 'out.jsonl');
  const args = ['run', '-c', cfg, '-i', pages, '-o', out, '--progress', 'none', '--json'];
  assert.equal((await runCli(args)).code, 0);
  const names = () => readOutput(out).map((l) => path.basename(String(l.id)));
  type Summary = { done: number; resumed: number; remapped?: { kept: { done: number; failed: number }; forgotten: { done: number; failed: number } } };
  const run = async (extra: string[] = []) => {
    const r = await runCli([...args, ...extra]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Summary;
  };

  // Edited in place: no file moved, so the journal still numbers the same files.
  fs.writeFileSync(path.join(pages, 'b.png'), 'edited');
  const edited = await run();
  assert.deepEqual([edited.resumed, edited.remapped], [2, undefined]);

  // A file added before the others shifts them: resumed by position, a.png would be skipped as
  // done and d.png written twice. By file name, a.png alone runs.
  fs.writeFileSync(path.join(pages, 'a.png'), 'new');
  const added = await run();
  assert.deepEqual([added.done, added.resumed, added.remapped], [1, 2, { kept: { done: 2, failed: 0 }, forgotten: { done: 0, failed: 0 } }]);
  assert.deepEqual(names(), ['b.png', 'd.png', 'a.png']);

  // Removed: its result stays in the output, and the journal forgets it (status says so).
  fs.rmSync(path.join(pages, 'a.png'));
  const removed = await run();
  assert.deepEqual([removed.done, removed.resumed, removed.remapped?.forgotten], [0, 2, { done: 1, failed: 0 }]);
  const status = (await runCli(['status', out])).stdout;
  assert.match(status, /^state: finished; 2 done, 0 failed of 2$/m);
  assert.match(status, /^output: 1 more result line, of files no longer in the input folder when a run resumed it by file name \(not counted above\)$/m);
  const relative = await runCli(['run', '-c', cfg, '-i', 'pages', '-o', 'out.jsonl', '--progress', 'none', '--json'], { cwd: dir });
  assert.equal(relative.code, 0, relative.stderr);
  assert.equal((JSON.parse(relative.stdout) as Summary).resumed, 2, 'named relative to another folder: the same listing');

  // Renamed: a new file to the journal, which forgets the old name.
  fs.renameSync(path.join(pages, 'd.png'), path.join(pages, 'c.png'));
  const renamed = await run();
  assert.deepEqual([renamed.done, renamed.resumed, renamed.remapped?.forgotten.done], [1, 1, 1]);
  assert.deepEqual(names(), ['b.png', 'd.png', 'a.png', 'c.png']);
  assert.deepEqual((await run()).remapped, undefined, 'then the same listing: resumed as it is');

  // Without the listing of then (a journal of an earlier gpupool), a folder changed in the middle
  // is refused, naming both listings; the output is untouched.
  const before = fs.readFileSync(out, 'utf8');
  for (const kept of fs.readdirSync(path.join(dir, '.gpupool', 'out.jsonl')).filter((n) => n.startsWith('listing-'))) fs.rmSync(path.join(dir, '.gpupool', 'out.jsonl', kept));
  fs.writeFileSync(path.join(pages, 'a.png'), 'back');
  const refused = await runCli(args);
  assert.equal(refused.code, 10, refused.stderr);
  const message = (JSON.parse(refused.stderr) as { message: string }).message;
  assert.match(message, /"inputState":"2 files, listing sha256 [0-9a-f]{32}"/);
  assert.match(message, /"inputState":"3 files, listing sha256 [0-9a-f]{32}"/);
  assert.match(message, /differs in: inputState\n/);
  assert.match(message, /why: its first 2 files in walk order are not those of then: a file was added before others, removed or renamed/);
  assert.equal(fs.readFileSync(out, 'utf8'), before);
  const fresh = await run(['--fresh']);
  assert.equal(fresh.done, 3);
  assert.deepEqual(names().sort(), ['a.png', 'b.png', 'c.png']);
});

test('a run killed while it keeps the listing of a changed folder leaves the journal as it was, and the next run resumes it by file name', async () => {
  const { dir, pages, cfg } = pagesJob(['b.png', 'd.png', 'f.png']);
  const out = path.join(dir, 'out.jsonl');
  const args = ['run', '-c', cfg, '-i', pages, '-o', out, '--progress', 'none', '--json'];
  assert.equal((await runCli(args)).code, 0);
  fs.writeFileSync(path.join(pages, 'a.png'), 'new');
  const preload = fileURLToPath(new URL('./fixtures/kill-at-kept-listing.mjs', import.meta.url));
  const killed = await runCli(args, { env: { NODE_OPTIONS: `--import ${preload}` } });
  assert.equal(killed.signal ?? killed.code, 'SIGKILL', killed.stderr);
  assert.match((await runCli(['status', out])).stdout, /^state: finished; 3 done, 0 failed of 3$/m, 'the journal kept its state');
  fs.writeFileSync(path.join(pages, 'c.png'), 'new too');
  const next = await runCli(args);
  assert.equal(next.code, 0, next.stderr);
  assert.equal((JSON.parse(next.stdout) as { done: number }).done, 2);
  assert.deepEqual(readOutput(out).map((l) => path.basename(String(l.id))).sort(), ['a.png', 'b.png', 'c.png', 'd.png', 'f.png']);
});

test('a kept listing emptied (or cut) is written again by the next run of its state, which can then be resumed by file name', async () => {
  const { dir, pages, cfg } = pagesJob(['b.png']);
  const out = path.join(dir, 'out.jsonl');
  const args = ['run', '-c', cfg, '-i', pages, '-o', out, '--progress', 'none', '--json'];
  assert.equal((await runCli(args)).code, 0);
  const stateDir = path.join(dir, '.gpupool', 'out.jsonl');
  const [kept] = fs.readdirSync(stateDir).filter((n) => n.startsWith('listing-'));
  fs.writeFileSync(path.join(stateDir, kept), '');
  assert.equal((await runCli(args)).code, 0);
  assert.ok(fs.statSync(path.join(stateDir, kept)).size > 0, 'written again');
  fs.writeFileSync(path.join(pages, 'a.png'), 'new');
  const next = await runCli(args);
  assert.equal(next.code, 0, next.stderr);
  assert.equal((JSON.parse(next.stdout) as { done: number }).done, 1);
});

test('a file whose name is not UTF-8 keeps its failure when the folder is resumed by file name: it fails once', async () => {
  const { dir, pages, cfg } = pagesJob(['b.png']);
  fs.writeFileSync(Buffer.concat([Buffer.from(`${pages}/c`), Buffer.from([0xff]), Buffer.from('.png')]), 'bad name');
  const out = path.join(dir, 'out.jsonl');
  const args = ['run', '-c', cfg, '-i', pages, '-o', out, '--progress', 'none', '--json'];
  assert.equal((await runCli(args)).code, 1);
  fs.writeFileSync(path.join(pages, 'a.png'), 'new');
  const next = await runCli(args);
  assert.equal(next.code, 1, next.stderr);
  const summary = JSON.parse(next.stdout) as { done: number; remapped: unknown };
  assert.deepEqual([summary.done, summary.remapped], [1, { kept: { done: 1, failed: 1 }, forgotten: { done: 0, failed: 0 } }]);
  const lines = readOutput(out);
  assert.equal(lines.length, 3);
  assert.equal(lines.filter((l) => 'error' in l).length, 1, 'one parse error, not two');
});

test('a listing kept beside the journal that does not make the state it names is refused as damaged, and the journal is left as it was', async () => {
  const { dir, pages, cfg } = pagesJob(['b.png', 'd.png']);
  const out = path.join(dir, 'out.jsonl');
  const args = ['run', '-c', cfg, '-i', pages, '-o', out, '--progress', 'none', '--json'];
  assert.equal((await runCli(args)).code, 0);
  const stateDir = path.join(dir, '.gpupool', 'out.jsonl');
  const [kept] = fs.readdirSync(stateDir).filter((n) => n.startsWith('listing-'));
  const file = path.join(stateDir, kept);
  fs.writeFileSync(file, fs.readFileSync(file, 'latin1').replace('fd.png', 'fe.png'), 'latin1');
  fs.writeFileSync(path.join(pages, 'a.png'), 'new');
  assert.match((await runCli(['status', out])).stdout, /^input: changed since .*: the same command will refuse it: the listing kept in .* is not that of/m, 'status says so too');
  const r = await runCli(args);
  assert.equal(r.code, 10, r.stderr);
  assert.match((JSON.parse(r.stderr) as { message: string }).message, /the listing kept in .*listing-[0-9a-f]{16} is not that of "2 files, listing sha256 [0-9a-f]{32}"/);
  assert.match((await runCli(['status', out])).stdout, /^state: finished; 2 done, 0 failed of 2$/m, 'the journal as it was');
  assert.equal(readOutput(out).length, 2);
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
  // The journal now holds the grown listing: run again, nothing to do; a file before the others runs by file name.
  assert.equal((JSON.parse((await runCli(args)).stdout) as { resumed: number }).resumed, 3);
  assert.doesNotMatch((await runCli(['status', out])).stdout, /^input:/m, 'the same listing: nothing said');
  fs.writeFileSync(path.join(pages, '2026-11-30.png'), 'late');
  assert.match((await runCli(['status', out])).stdout, /^input: changed since .*: the same command resumes it and runs by file name the files it did not run \(added, or renamed: a renamed file is a new one\); results of files no longer there stay in the output$/m);
  const byName = JSON.parse((await runCli(['status', out, '--json'])).stdout) as { inputResumes: unknown; inputResumesByName: unknown; inputRefusal: unknown };
  assert.deepEqual([byName.inputResumes, byName.inputResumesByName, byName.inputRefusal], [true, true, undefined]);
  const late = await runCli(args);
  assert.equal(late.code, 0, late.stderr);
  assert.deepEqual((JSON.parse(late.stdout) as { done: number }).done, 1);
  assert.equal(readOutput(out).length, 4, 'each file once');
  fs.rmSync(pages, { recursive: true });
  assert.match((await runCli(['status', out])).stdout, /^input: gone since the journal took it \("4 files, listing sha256 [0-9a-f]{32}"\): a run needs it back as it was$/m);
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
