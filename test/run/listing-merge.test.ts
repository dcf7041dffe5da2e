import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { walkFiles } from '../../src/run/sources/folder-walk.js';
import { hasKeptListing, keepListing, keptListingPath, pruneKeptListings, readKeptListing, type KeptEntry } from '../../src/run/sources/kept-listing.js';
import { compareInWalk, matchListings } from '../../src/run/sources/listing-merge.js';
import { tempDir } from '../helpers/cli.js';

const files = (...names: string[]): KeptEntry[] => names.map((relative) => ({ kind: 'f', relative }));

function pairs(former: KeptEntry[], now: KeptEntry[]): { pairs: Array<[number, number]>; formerCount: number } {
  const found: Array<[number, number]> = [];
  const formerCount = matchListings(former, now, (a, b) => found.push([a, b]));
  return { pairs: found, formerCount };
}

test('walk order is folder by folder, not by the whole path as a string', async () => {
  // As strings, "a-b" < "a/b" ('-' before '/'); the walk lists folder a's files before the file a-b.
  const dir = tempDir();
  const names = ['a/b', 'a-b', 'a.b', 'a/c/d', 'a0', 'B', 'b', 'x/y.txt', 'x.txt', 'é', 'e', '10', '9', 'z/.hidden'];
  for (const name of names) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), name);
  }
  const listed: string[] = [];
  for await (const entry of walkFiles(dir, dir, { skip: new Set() })) listed.push(path.relative(dir, entry.path));
  assert.deepEqual([...listed].sort(compareInWalk), listed, 'compareInWalk sorts as the walk lists');
  assert.notDeepEqual([...listed].sort(), listed, 'which a sort of the whole paths does not');
  assert.equal(listed.length, names.length);
});

test('files are matched by path between two listings in walk order; added, removed and renamed ones are not', () => {
  assert.deepEqual(pairs(files('b', 'd'), files('a', 'b', 'd')), { pairs: [[0, 1], [1, 2]], formerCount: 2 });
  assert.deepEqual(pairs(files('a', 'b', 'c'), files('b')), { pairs: [[1, 0]], formerCount: 3 });
  assert.deepEqual(pairs(files('a', 'd'), files('a', 'c')), { pairs: [[0, 0]], formerCount: 2 }, 'd renamed to c');
  assert.deepEqual(pairs(files('a/b', 'a-b'), files('a/b', 'a/c', 'a-b')), { pairs: [[0, 0], [1, 2]], formerCount: 2 });
  assert.deepEqual(pairs(files('x', 'y'), []), { pairs: [], formerCount: 2 }, 'every entry of then is read');
  assert.deepEqual(pairs([], files('x')), { pairs: [], formerCount: 0 });
  // A file that became a folder of the same name: nothing to match.
  assert.deepEqual(pairs(files('a', 'b'), files('a/b', 'b')), { pairs: [[1, 1]], formerCount: 2 });
});

test('names that read alike (U+FFFD): entries of one kind pair, a file passes over a name not UTF-8 whichever comes first', () => {
  const bad = (relative: string, kind: 'u' | 'U' = 'u'): KeptEntry => ({ kind, relative });
  const A = 'a\uFFFD';
  assert.deepEqual(pairs([bad(A), ...files('q')], [bad(A), ...files('q')]), { pairs: [[0, 0], [1, 1]], formerCount: 2 }, 'a name not UTF-8 keeps its failure');
  assert.deepEqual(pairs(files(A), [bad(A), ...files(A)]), { pairs: [[0, 1]], formerCount: 1 }, 'one added before the file');
  assert.deepEqual(pairs([bad(A), ...files(A)], files(A)), { pairs: [[1, 0]], formerCount: 2 }, 'one removed before the file');
  assert.deepEqual(pairs([...files(A), bad(A)], [...files(A)]), { pairs: [[0, 0]], formerCount: 2 });
  assert.deepEqual(pairs([bad(A, 'U')], [bad(A)]), { pairs: [], formerCount: 1 }, 'a folder and a file, both not UTF-8: none');
});

test('a kept listing is written once per state, read back as written, and others are pruned', () => {
  const stateDir = path.join(tempDir(), 'state');
  const entries: KeptEntry[] = [...files('a', 'b/c', 'line\nbreak'), { kind: 'U', relative: 'd\uFFFD' }];
  keepListing(stateDir, 'state 1', entries);
  assert.equal(hasKeptListing(stateDir, 'state 1'), true);
  assert.equal(hasKeptListing(stateDir, 'state 2'), false);
  assert.deepEqual([...readKeptListing(stateDir, 'state 1')], entries);
  // Written again for the same state: left as it is.
  const before = fs.statSync(keptListingPath(stateDir, 'state 1')).mtimeMs;
  keepListing(stateDir, 'state 1', (function* () { throw new Error('read again'); })());
  assert.equal(fs.statSync(keptListingPath(stateDir, 'state 1')).mtimeMs, before);
  keepListing(stateDir, 'state 2', files('z'));
  pruneKeptListings(stateDir, 'state 2');
  assert.deepEqual([hasKeptListing(stateDir, 'state 1'), hasKeptListing(stateDir, 'state 2')], [false, true]);
  // A file at the name of one state that says it is of another is not that state's.
  fs.copyFileSync(keptListingPath(stateDir, 'state 2'), keptListingPath(stateDir, 'state 3'));
  assert.equal(hasKeptListing(stateDir, 'state 3'), false);
  assert.throws(() => [...readKeptListing(stateDir, 'state 3')], /is not the listing of "state 3"/);
  assert.deepEqual(fs.readdirSync(stateDir).filter((n) => n.endsWith('.tmp')), [], 'no temporary file left');
});
