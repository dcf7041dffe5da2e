// FileSource: the order a folder is walked in (positions must not change between runs, or a
// resumed run would skip the wrong files), and the probe of the folder it starts from.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { GpupoolError } from '../../src/errors/index.js';
import { FileSource } from '../../src/run/sources/file-source.js';
import type { InputRecord } from '../../src/run/sources/input-record.js';
import { globDepth } from '../../src/run/sources/folder-walk.js';
import { tempDir } from '../helpers/cli.js';

async function ids(made: Promise<FileSource>): Promise<(string | number)[]> {
  const seen: (string | number)[] = [];
  for await (const rec of (await made).records()) seen.push(rec.id);
  return seen;
}

test('a folder is walked in sorted order, depth first, each file once with its position', async () => {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'b', 'z'), { recursive: true });
  for (const name of ['c.png', 'a.png', 'b/y.png', 'b/z/x.png', 'B.png']) fs.writeFileSync(path.join(dir, name), name);
  const expected = ['B.png', 'a.png', 'b/y.png', 'b/z/x.png', 'c.png'].map((n) => path.join(dir, n));
  assert.deepEqual(await ids(FileSource.directory(dir)), expected);
  const seqs: number[] = [];
  for await (const rec of (await FileSource.directory(dir)).records()) seqs.push(rec.seq);
  assert.deepEqual(seqs, [0, 1, 2, 3, 4]);
  assert.deepEqual(await ids(FileSource.glob(path.join(dir, '**', '*.png'))), expected);
});

test('a folder that is missing or is a file is refused when the source is made, naming it', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'one.jsonl');
  fs.writeFileSync(file, '{}\n');
  const refused = (made: Promise<unknown>, message: RegExp) =>
    assert.rejects(made, (e: Error) => e instanceof GpupoolError && e.code === 'GPUPOOL_E_INPUT_NOT_FOUND' && message.test(e.message), String(message));
  await refused(FileSource.directory(file), /^input ".*one\.jsonl" is not a folder$/);
  await refused(FileSource.directory(path.join(dir, 'gone')), /^input ".*gone" does not exist$/);
  await refused(FileSource.glob(path.join(file, '*.png')), /^input ".*one\.jsonl\/\*\.png" starts from ".*one\.jsonl", which is not a folder$/);
  await refused(FileSource.glob(path.join(dir, 'gone', '*.png')), /^input ".*gone\/\*\.png" starts from ".*gone", which does not exist$/);
});

test('the identity is marked when the run\'s own files lie in the folder read (a journal from before they were left out numbered files otherwise)', async () => {
  const dir = tempDir();
  const plain = (await FileSource.directory(dir)).identity;
  assert.equal((await FileSource.directory(dir, [path.join(tempDir(), 'out.jsonl')])).identity, plain, 'own files elsewhere: unchanged');
  assert.equal((await FileSource.directory(dir, [path.join(dir, 'out.jsonl')])).identity, `${plain} (own output left out)`);
});

test('gpupool state folders (.gpupool) are never walked', async () => {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, '.gpupool', 'other-job'), { recursive: true });
  fs.writeFileSync(path.join(dir, '.gpupool', 'other-job', 'journal.sqlite'), '');
  fs.writeFileSync(path.join(dir, 'a.png'), '');
  assert.deepEqual(await ids(FileSource.directory(dir)), [path.join(dir, 'a.png')]);
});

test('a link to a file is an input, a link to a folder is neither walked into nor an input, a dangling link is an input', async () => {
  const dir = tempDir();
  const elsewhere = tempDir();
  fs.writeFileSync(path.join(elsewhere, 'x.png'), '');
  fs.symlinkSync(path.join(elsewhere, 'x.png'), path.join(dir, 'file-link.png'));
  fs.symlinkSync(elsewhere, path.join(dir, 'folder-link'));
  fs.symlinkSync(dir, path.join(dir, 'loop')); // a link to the folder itself
  fs.symlinkSync(path.join(elsewhere, 'gone.png'), path.join(dir, 'dangling.png'));
  assert.deepEqual(await ids(FileSource.directory(dir)), ['dangling.png', 'file-link.png'].map((n) => path.join(dir, n)));
});

test('the state counts the files found and digests their paths in order: the same listing, the same state', async () => {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'sub'));
  for (const name of ['a.png', 'sub/b.png', 'notes.txt']) fs.writeFileSync(path.join(dir, name), name);
  const state = async (input = dir) => (await FileSource.directory(input, [path.join(dir, 'out.jsonl')])).state;
  const first = await state();
  assert.match(first, /^3 files, listing sha256 [0-9a-f]{32}$/);
  assert.equal(await state(), first);
  assert.equal(await state(path.relative(process.cwd(), dir)), first, 'the same folder named relative to here');
  // As journals of earlier versions hold it: the paths from the folder, each ended by NUL, in walk order.
  const digest = createHash('sha256').update('a.png\0notes.txt\0sub/b.png\0').digest('hex').slice(0, 32);
  assert.equal(first, `3 files, listing sha256 ${digest}`);
  for (const spelled of [`${dir}/`, `${dir}/./`, `${dir}/sub/..`, `${dir}//`]) assert.equal(await state(spelled), first, spelled);
  const here = process.cwd();
  try {
    process.chdir(path.join(dir, 'sub'));
    assert.equal(await state('..'), first, '..');
    process.chdir(dir);
    assert.equal(await state('.'), first, '.');
  } finally {
    process.chdir(here);
  }
  fs.writeFileSync(path.join(dir, 'a.png'), 'other contents');
  assert.equal(await state(), first, 'contents are not part of it');
  fs.writeFileSync(path.join(dir, 'out.jsonl'), '');
  assert.equal(await state(), first, 'the run\'s own output is not listed');
  fs.renameSync(path.join(dir, 'sub', 'b.png'), path.join(dir, 'sub', 'c.png'));
  assert.notEqual(await state(), first, 'a renamed file');
  fs.renameSync(path.join(dir, 'sub', 'c.png'), path.join(dir, 'sub', 'b.png'));
  assert.equal(await state(), first);
  assert.match((await FileSource.glob(path.join(dir, '**', '*.png'))).state, /^2 files, /, 'a glob lists what it matches');
  assert.match((await FileSource.glob(path.join(dir, '*.png'))).state, /^1 file, /);
});

test('the files are numbered from the listing taken when the source was made: a file added since is not an input, and shifts none', async () => {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'm'));
  for (const name of ['a.png', 'z.png']) fs.writeFileSync(path.join(dir, name), name);
  const made = FileSource.directory(dir);
  const source = await made;
  fs.writeFileSync(path.join(dir, 'm', 'b.png'), 'added after the listing');
  fs.rmSync(path.join(dir, 'z.png'));
  assert.deepEqual(await ids(made), ['a.png', 'z.png'].map((n) => path.join(dir, n)), 'as listed');
  assert.match(source.state, /^2 files, /);
  assert.deepEqual(await ids(Promise.resolve(source)), ['a.png', 'z.png'].map((n) => path.join(dir, n)), 'read again (a submitter does, for chunks Redis lost)');
  source.close();
  assert.deepEqual(await ids(Promise.resolve(source)), [], 'closed: the listing is freed');
});

test('many files, names with newlines and multibyte characters: every file once, in order, across the listing\'s chunks', async () => {
  const dir = tempDir();
  const names = Array.from({ length: 3000 }, (_, i) => `${String(i).padStart(4, '0')}-${i % 7 === 0 ? 'line\nbreak' : 'страница'}-${'x'.repeat(i % 40)}.png`);
  for (const name of names) fs.writeFileSync(path.join(dir, name), '');
  assert.deepEqual(await ids(FileSource.directory(dir)), names.map((n) => path.join(dir, n)));
});

test('how deep a glob can match: folders below are not read', () => {
  assert.equal(globDepth('*.png'), 1);
  assert.equal(globDepth('*/x.png'), 2);
  assert.equal(globDepth('{a,b/c}/*.png'), 3, 'every slash counts, so no alternative is cut short');
  assert.equal(globDepth('**/*.png'), Infinity);
  assert.equal(globDepth('+(a|b/c)/*.png'), Infinity);
});

test('a negated glob reads every folder below its base', async () => {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'deep', 'er'), { recursive: true });
  for (const name of ['a.png', 'a.txt', 'deep/b.png', 'deep/er/c.png']) fs.writeFileSync(path.join(dir, name), '');
  assert.deepEqual(await ids(FileSource.glob(`!${path.join(dir, '*.png')}`)), ['a.txt', 'deep/b.png', 'deep/er/c.png'].map((n) => path.join(dir, n)));
});

test('a folder continues an earlier state of it when it only gained files after its last one, in walk order', async () => {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'b'));
  for (const name of ['a.png', 'b/1.png', 'b/2.png']) fs.writeFileSync(path.join(dir, name), '');
  const then = (await FileSource.directory(dir)).state;
  const now = async () => FileSource.directory(dir);
  assert.equal((await now()).continues(then), true, 'the same files');
  fs.writeFileSync(path.join(dir, 'b', '3.png'), '');
  fs.writeFileSync(path.join(dir, 'c.png'), '');
  assert.equal((await now()).continues(then), true, 'files after the last one of then');
  fs.writeFileSync(path.join(dir, 'b', '0.png'), '');
  assert.equal((await now()).continues(then), 'its first 3 files in walk order are not those of then: a file was added before others, removed or renamed', 'a file before one of then');
  fs.rmSync(path.join(dir, 'b', '0.png'));
  fs.rmSync(path.join(dir, 'a.png'));
  assert.match(String((await now()).continues(then)), /^its first 3 files in walk order are not those of then/, 'a file of then removed');
  assert.equal((await now()).continues('12 files, listing sha256 00000000000000000000000000000000'), 'it holds fewer files than then: a file was removed or renamed', 'more files then than now');
  assert.equal((await now()).continues('16 bytes, modified 2026-12-06T00:00:00.000000000Z'), false, 'not a listing');
});

test('a file or folder whose name is not UTF-8 is an input that fails alone, naming it; a glob keeps such a folder, which may hold matches', async () => {
  const dir = tempDir();
  const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));
  fs.writeFileSync(path.join(dir, 'a.png'), '');
  fs.writeFileSync(bytes(dir, '/b', [0xff], '.png'), ''); // latin-1 "ÿ", as from an old share
  fs.mkdirSync(bytes(dir, '/c', [0xe9]));
  fs.writeFileSync(bytes(dir, '/c', [0xe9], '/inside.png'), '');
  fs.writeFileSync(path.join(dir, 'd.png'), '');
  fs.writeFileSync(path.join(dir, 'e\uFFFD.png'), ''); // U+FFFD itself, in UTF-8: a name like any other
  const records = async (made: Promise<FileSource>) => {
    const seen: InputRecord[] = [];
    for await (const rec of (await made).records()) seen.push(rec);
    return seen;
  };
  const all = await records(FileSource.directory(dir));
  assert.deepEqual(all.map((r) => [r.seq, path.basename(String(r.id)), 'parseError' in r]), [
    [0, 'a.png', false],
    [1, 'b\uFFFD.png', true],
    [2, 'c\uFFFD', true],
    [3, 'd.png', false],
    [4, 'e\uFFFD.png', false],
  ]);
  const [file, folder] = [all[1], all[2]] as { parseError: string }[];
  assert.match(file.parseError, /^the name of the file .*b\uFFFD\.png is not UTF-8 \(shown with U\+FFFD for its bad bytes\): JSON cannot name it; rename it and run again \(gpupool run then runs the renamed file; where a changed folder is refused, a --shard by position or a serve or submit job, run with --fresh or into another output\)$/);
  assert.match(folder.parseError, /^the name of the folder .*c\uFFFD is not UTF-8 .*, so none of its files is an input; rename it and run again \(gpupool run then runs the renamed file/);
  const globbed = await records(FileSource.glob(path.join(dir, '**', '*.png')));
  assert.deepEqual(globbed.map((r) => path.basename(String(r.id))), ['a.png', 'b\uFFFD.png', 'c\uFFFD', 'd.png', 'e\uFFFD.png']);
  const shallow = await records(FileSource.glob(path.join(dir, '*.png')));
  assert.deepEqual(shallow.map((r) => path.basename(String(r.id))), ['a.png', 'b\uFFFD.png', 'd.png', 'e\uFFFD.png'], 'a folder deeper than the glob reaches holds no match');
  // The same listing, the same state.
  assert.equal((await FileSource.directory(dir)).state, (await FileSource.directory(dir)).state);
});

test('a glob spelled with // or /./ matches as the shell reads it', async () => {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'sub'));
  for (const name of ['a.png', 'sub/b.png']) fs.writeFileSync(path.join(dir, name), '');
  const plain = await ids(FileSource.glob(`${dir}/**/*.png`));
  assert.deepEqual(plain, ['a.png', 'sub/b.png'].map((n) => path.join(dir, n)));
  for (const spelled of [`${dir}//**/*.png`, `${dir}/./**/*.png`, `${dir}/sub/../**/*.png`]) assert.deepEqual(await ids(FileSource.glob(spelled)), plain, spelled);
  assert.deepEqual(await ids(FileSource.glob(`${dir}//*.png`)), [path.join(dir, 'a.png')]);
});
