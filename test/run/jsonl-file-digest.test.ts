// A JSONL file that only grew resumes its journal: each reader reads the file as long as it was
// when it was opened, hashes what it read, and `continues` checks a later file against that.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { test } from 'node:test';
import { INPUT_DIGEST_META, InputDigestKeeper, JsonlSource, jsonlFileContinues, ThreadedJsonlSource, type DigestPlan, type InputDigest, type InputSource } from '../../src/run/index.js';
import type { JournalStatus } from '../../src/store/index.js';
import { FILE_CHUNK_BYTES } from '../../src/run/sources/file-chunks.js';

function tempFile(content: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpupool-digest-'));
  const file = path.join(dir, 'input.jsonl');
  fs.writeFileSync(file, content);
  return file;
}

const crc32 = (text: string) => zlib.crc32(text);

/** Many lines, so that a read crosses several chunks. */
const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `{"n":${from + i},"pad":"${'x'.repeat(40)}"}\n`).join('');

const readers: Record<string, (file: string) => InputSource> = {
  'main thread': (file) => JsonlSource.fromFile(file, 'cost'),
  'reader thread': (file) => ThreadedJsonlSource.fromFile(file, 'cost'),
};

for (const [name, open] of Object.entries(readers)) {
  test(`${name}: lines added while the file is read are left for the next run; the digest is of the bytes read`, async () => {
    const before = lines(0, 20_000);
    assert.ok(before.length > 2 * 8 * FILE_CHUNK_BYTES, "more than the reader thread reads ahead");
    const file = tempFile(before);
    const source = open(file);
    let count = 0;
    let appended = false;
    for await (const batch of source.recordBatches()) {
      count += batch.length;
      if (!appended) {
        fs.appendFileSync(file, lines(20_000, 20_100)); // during the read
        appended = true;
      }
    }
    assert.equal(count, 20_000, 'only the lines there when the file was opened');
    assert.deepEqual(source.readDigest?.(), { state: source.state, crc32: crc32(before) });
    assert.match(source.state!, /^\d+ bytes, modified /);
    assert.equal(Number(/^\d+/.exec(source.state!)![0]), Buffer.byteLength(before));
  });

  test(`${name}: a digest is kept only where what was read is what ran: a new journal's run, a prefix found again, or a file that kept its state`, async () => {
    const before = lines(0, 20_000);
    /** Reads the file under `plan`, editing line 1 in place (same size) or appending a line once the read is under way. */
    const readWith = async (plan: DigestPlan, change: 'edit' | 'append' | 'none') => {
      const file = tempFile(before);
      const source = open(file);
      source.planReadDigest!(plan);
      let changed = change === 'none';
      for await (const batch of source.recordBatches()) {
        assert.ok(batch.length > 0);
        if (changed) continue;
        if (change === 'append') fs.appendFileSync(file, '{"n":"new"}\n');
        else {
          const fd = fs.openSync(file, 'r+');
          fs.writeSync(fd, '{"n":9', 0); // line 1 rewritten: same size, a new modification time
          fs.closeSync(fd);
        }
        changed = true;
      }
      return source.readDigest?.()?.crc32;
    };
    const whole = crc32(before);
    // A journal with lines done before: the file changed while read, so the bytes read may not be those that ran.
    assert.equal(await readWith({ skip: false, fresh: false }, 'edit'), undefined);
    assert.equal(await readWith({ skip: false, fresh: false }, 'append'), undefined);
    assert.equal(await readWith({ skip: false, fresh: false }, 'none'), whole, 'the file kept its state');
    // A new journal: every line read ran in this run, whatever happened to the file.
    assert.equal(await readWith({ skip: false, fresh: true }, 'append'), whole);
    // What ran before found again at its length (a grown file's resume): the rest ran now.
    const prefix = before.slice(0, before.indexOf('{"n":100,'));
    assert.equal(await readWith({ skip: false, fresh: false, verified: { bytes: prefix.length, crc32: crc32(prefix) } }, 'append'), whole);
    assert.equal(await readWith({ skip: false, fresh: false, verified: { bytes: prefix.length, crc32: crc32('other') } }, 'append'), undefined);
    // The journal holds this state's digest: nothing hashed, nothing to keep.
    assert.equal(await readWith({ skip: true, fresh: false }, 'none'), undefined);
  });

  test(`${name}: a read stopped before the end gives no digest, but the digest of what it had read covers every line read`, async () => {
    const text = lines(0, 20_000);
    const source = open(tempFile(text));
    let linesRead = 0;
    for await (const batch of source.recordBatches()) {
      linesRead += batch.length;
      if (linesRead > 1_000) break;
    }
    assert.equal(source.readDigest?.(), undefined);
    const checkpoint = source.readCheckpoint?.();
    assert.ok(checkpoint?.bytes !== undefined && checkpoint.bytes < text.length, `${JSON.stringify(checkpoint)}: not the whole file`);
    assert.equal(checkpoint.state, source.state);
    assert.equal(checkpoint.crc32, crc32(text.slice(0, checkpoint.bytes)), 'the CRC of the first bytes');
    assert.equal(text[checkpoint.bytes - 1], '\n', 'up to a line end: the line it cuts has not run');
    const endOfLinesRead = lines(0, linesRead).length;
    assert.ok(checkpoint.bytes >= endOfLinesRead, `${checkpoint.bytes} bytes cover the ${linesRead} lines read (${endOfLinesRead} bytes)`);
  });

  test(`${name}: the digest of what was read so far stands only where the whole one would: a new journal's run, or once what ran before was found again`, async () => {
    const text = lines(0, 20_000);
    /** The checkpoints seen after each batch of a whole read under `plan`. */
    const checkpoints = async (plan: DigestPlan, checkedRight = true) => {
      const source = open(tempFile(text));
      source.planReadDigest!(plan);
      const seen: (number | undefined)[] = [source.readCheckpoint?.()?.bytes];
      for await (const batch of source.recordBatches()) {
        assert.ok(batch.length > 0);
        const checkpoint = source.readCheckpoint?.();
        if (checkpoint !== undefined && checkedRight) assert.equal(checkpoint.crc32, crc32(text.slice(0, checkpoint.bytes)));
        seen.push(checkpoint?.bytes);
      }
      return seen;
    };
    const fresh = await checkpoints({ skip: false, fresh: true });
    assert.equal(fresh[0], undefined);
    assert.equal(fresh.at(-1), text.length, 'at the end, all of it');
    assert.ok(fresh.slice(1).every((b, i, all) => b !== undefined && (i === 0 || b >= all[i - 1]!)), `growing: ${fresh.join(' ')}`);
    // Lines done before, nothing checked: no digest of what was read stands (the whole read's may, by the file's state).
    assert.ok((await checkpoints({ skip: false, fresh: false })).every((b) => b === undefined));
    // What ran before: it stands from the start (it was checked), and grows once the read found it again.
    const prefix = text.slice(0, text.indexOf('{"n":5000,'));
    const found = await checkpoints({ skip: false, fresh: false, verified: { bytes: prefix.length, crc32: crc32(prefix) } });
    assert.equal(found[0], prefix.length);
    assert.equal(found.at(-1), text.length);
    // Not found again (the file changed since): what was checked until then, then a mark that no digest stands.
    const other = await checkpoints({ skip: false, fresh: false, verified: { bytes: prefix.length, crc32: crc32(prefix) ^ 1 } }, false);
    const lost = other.findIndex((b) => b === 0);
    assert.ok(lost > 0 && other.slice(0, lost).every((b) => b === prefix.length) && other.slice(lost).every((b) => b === 0), other.join(' '));
  });

  test(`${name}: a file cut shorter while it is read: the digest ends where the read ended, with the last line that ran, and the file put back is refused`, async () => {
    const text = lines(0, 20_000);
    const file = tempFile(text);
    const source = open(file);
    const cutAt = text.indexOf('{"n":15000,') + 3; // inside line 15001
    let cut = false;
    let last: unknown;
    for await (const batch of source.recordBatches()) {
      if (!cut) {
        fs.truncateSync(file, cutAt);
        cut = true;
      }
      if (batch.length > 0) last = batch.at(-1);
    }
    // Its last line ran as the read found it: `{"n`, a parse error, which the run reports for line 15001.
    assert.deepEqual([(last as { seq: number }).seq, 'parseError' in (last as object)], [15_000, true]);
    assert.equal(source.readDigest?.(), undefined, 'not the whole file');
    const checkpoint = source.readCheckpoint?.();
    assert.deepEqual(checkpoint, { state: source.state, crc32: crc32(text.slice(0, cutAt)), bytes: cutAt });
    fs.writeFileSync(file, text);
    assert.equal(
      jsonlFileContinues(file, text.length, source.state!, checkpoint),
      `its last line read before, at ${cutAt} bytes, had no line end, and the bytes after it are not blanks up to one: they changed that line`,
    );
  });
}

test('the keeper writes the digest of what was read before each commit, never one of fewer bytes, and the whole one after the read; a grown file takes the checked one at once', async () => {
  const text = lines(0, 20_000);
  const file = tempFile(text);
  const writes: unknown[] = [];
  const journal = (meta: Record<string, unknown>) => ({
    status: () => ({ meta }) as unknown as JournalStatus,
    setMeta: (key: string, value: unknown) => void writes.push([key, value]),
  });
  // A new journal: the digest of no bytes at once (nothing ran); each commit, a longer digest; the whole one at the end.
  const source = JsonlSource.fromFile(file, 'cost');
  const keeper = await InputDigestKeeper.open(source, journal({}), { done: 0, failed: 0 });
  assert.deepEqual(writes.splice(0), [[INPUT_DIGEST_META, { state: source.state, crc32: 0, bytes: 0 }]]);
  for await (const batch of source.recordBatches()) {
    assert.ok(batch.length > 0);
    await keeper.coverRead();
    await keeper.coverRead(); // nothing read since: nothing written
  }
  await keeper.afterRead();
  const written = writes.map((w) => (w as [string, InputDigest])[1]);
  assert.ok(writes.every((w) => (w as unknown[])[0] === INPUT_DIGEST_META));
  assert.ok(written.length > 2, `${written.length} writes`);
  assert.ok(written.slice(0, -1).every((d, i) => d.bytes! > (i === 0 ? 0 : written[i - 1].bytes!)), 'each covers more than the last');
  assert.deepEqual(written.at(-1), { state: source.state, crc32: crc32(text) });
  await keeper.coverRead(); // a commit after the whole digest (answers still in flight): it stays
  assert.equal(writes.length, written.length);
  assert.ok(written.slice(0, -1).every((d) => text[d.bytes! - 1] === '\n'), 'each ends at a line end');

  // A journal that holds the whole digest of this state: nothing hashed, nothing written.
  writes.length = 0;
  const again = JsonlSource.fromFile(file, 'cost');
  const same = await InputDigestKeeper.open(again, journal({ [INPUT_DIGEST_META]: { state: again.state, crc32: crc32(text) } }), { done: 5, failed: 0 });
  for await (const batch of again.recordBatches()) if (batch.length > 0) await same.coverRead();
  await same.afterRead();
  assert.deepEqual(writes, []);

  // A run of this state stopped before the end: its digest is checked on the way and then grows.
  const cut = text.indexOf('{"n":3000,');
  // A run of this state that found the bytes that ran before changed: a mark that no digest stands, once, and nothing after it.
  writes.length = 0;
  const changed = JsonlSource.fromFile(file, 'cost');
  const lost = await InputDigestKeeper.open(changed, journal({ [INPUT_DIGEST_META]: { state: changed.state, crc32: crc32(text.slice(0, cut)) ^ 1, bytes: cut } }), { done: 5, failed: 0 });
  for await (const batch of changed.recordBatches()) if (batch.length > 0) await lost.coverRead();
  await lost.afterRead();
  assert.deepEqual(writes, [[INPUT_DIGEST_META, { state: changed.state, crc32: 0, bytes: 0, changedWhileRead: `its first ${cut} bytes were not those read before` }]]);
  assert.equal(
    jsonlFileContinues(file, text.length, changed.state!, (writes[0] as unknown[])[1]),
    `it changed while a run read it (its first ${cut} bytes were not those read before), so the lines that ran cannot be checked`,
  );
  writes.length = 0;
  const stopped = JsonlSource.fromFile(file, 'cost');
  const resumed = await InputDigestKeeper.open(stopped, journal({ [INPUT_DIGEST_META]: { state: stopped.state, crc32: crc32(text.slice(0, cut)), bytes: cut } }), { done: 5, failed: 0 });
  assert.deepEqual(writes, [], 'what the journal holds is not written again');
  for await (const batch of stopped.recordBatches()) if (batch.length > 0) await resumed.coverRead();
  assert.ok(writes.length > 0 && (writes.at(-1) as unknown as [string, InputDigest])[1].bytes === text.length);

  // A file that grew from a state whose first bytes the journal's digest holds: that digest, under the new state, at once.
  writes.length = 0;
  const former = JsonlSource.fromFile(file, 'cost').state!;
  fs.appendFileSync(file, lines(20_000, 20_010));
  const grown = JsonlSource.fromFile(file, 'cost');
  const meta = { [INPUT_DIGEST_META]: { state: former, crc32: crc32(text.slice(0, cut)), bytes: cut } };
  assert.equal(grown.continues(former, meta), true);
  await InputDigestKeeper.open(grown, journal(meta), { done: 5, failed: 0 });
  assert.deepEqual(writes, [[INPUT_DIGEST_META, { state: grown.state, crc32: crc32(text.slice(0, cut)), bytes: cut }]]);
});

test('continues: a file with lines added after its last (or touched) continues; cut, edited, or never read to its end does not, and says why', () => {
  const first = '{"a":1}\n{"b":2}\n';
  const file = tempFile(first);
  const former = JsonlSource.fromFile(file, 'cost').state!;
  const digest = { [INPUT_DIGEST_META]: { state: former, crc32: crc32(first) } };
  const check = (content: string, meta: Record<string, unknown> = digest) => {
    fs.writeFileSync(file, content);
    return JsonlSource.fromFile(file, 'cost').continues(former, meta);
  };
  assert.equal(check(first + '{"c":3}\n'), true);
  assert.equal(check(first), true, 'the same bytes, touched');
  assert.equal(check(first + '{"c":3}\n', {}), 'its journal holds no digest of the 16 bytes that ran (an earlier gpupool, which kept none, made the journal, and no run since read the file to its end), so they cannot be checked');
  assert.match(String(check(first + '{"c":3}\n', { [INPUT_DIGEST_META]: { state: '3 bytes, modified 2026-01-01T00:00:00.000000000Z', crc32: crc32(first) } })), /holds no digest of the 16 bytes/, 'a digest of another state');
  assert.equal(check('{"a":1}\n'), 'it holds 8 bytes, fewer than the 16 it held then: lines were removed or shortened');
  assert.equal(check('{"a":9}\n{"b":2}\n{"c":3}\n'), 'its first 16 bytes are not those read before: a line there was edited or removed, not only lines added after the last');
  assert.equal(JsonlSource.fromFile(file, 'cost').continues('2 files, listing sha256 00000000000000000000000000000000', digest), false, 'not a file state');
  assert.equal(JsonlSource.fromStream(fs.createReadStream(file), 'stdin', 'cost').continues(former, digest), false, 'a stream cannot be checked');
});

test('continues: a digest of the first bytes only (a run stopped before the end) checks those: the lines after never ran, so they may change', () => {
  const ran = '{"a":1}\n{"b":2}\n';
  const file = tempFile(ran + '{"c":3}\n{"d":4}');
  const former = JsonlSource.fromFile(file, 'cost').state!;
  const meta = { [INPUT_DIGEST_META]: { state: former, crc32: crc32(ran), bytes: ran.length } };
  const check = (content: string) => {
    fs.writeFileSync(file, content);
    return JsonlSource.fromFile(file, 'cost').continues(former, meta);
  };
  assert.equal(check(ran + '{"c":3}\n{"d":4}\n{"e":5}\n'), true, 'lines added');
  assert.equal(check(ran + '{"c":"edited"}\n'), true, 'a line that never ran, edited');
  assert.equal(check(ran), true, 'lines that never ran, removed');
  assert.equal(check(ran + '5'), true, 'no rule for a last line that never ran');
  assert.equal(check('{"a":1}\n'), 'it holds 8 bytes, fewer than the 16 read before: lines were removed or shortened');
  assert.equal(check('{"a":9}\n{"b":2}\n{"c":3}\n'), 'its first 16 bytes are not those read before: a line there was edited or removed, not only lines added after the last');
});

test('continues: a last line without its line end continues only if what was added begins by ending it', () => {
  const first = '{"a":1}\n{"b":2}';
  const file = tempFile(first);
  const former = JsonlSource.fromFile(file, 'cost').state!;
  const digest = { [INPUT_DIGEST_META]: { state: former, crc32: crc32(first) } };
  fs.writeFileSync(file, first + '\n{"c":3}\n');
  assert.equal(jsonlFileContinues(file, fs.statSync(file).size, former, digest[INPUT_DIGEST_META]), true);
  fs.writeFileSync(file, first + '\r\n{"c":3}\n');
  assert.equal(jsonlFileContinues(file, fs.statSync(file).size, former, digest[INPUT_DIGEST_META]), true, 'a CRLF line end');
  fs.writeFileSync(file, first);
  assert.equal(jsonlFileContinues(file, fs.statSync(file).size, former, digest[INPUT_DIGEST_META]), true, 'touched: nothing added');
  fs.writeFileSync(file, first + '5}\n');
  assert.equal(
    jsonlFileContinues(file, fs.statSync(file).size, former, digest[INPUT_DIGEST_META]),
    'its last line read before, at 15 bytes, had no line end, and the bytes after it are not blanks up to one: they changed that line',
  );
  // The same digest carried under a grown file's state (a resumed run killed before its first commit) checks it too.
  fs.writeFileSync(file, first + '\n{"c":3}\n');
  const grownState = JsonlSource.fromFile(file, 'cost').state!;
  const carried = { state: grownState, crc32: crc32(first), bytes: first.length };
  fs.writeFileSync(file, '{"a":1}\n{"b":2}5\n{"c":3}\n');
  assert.match(String(jsonlFileContinues(file, fs.statSync(file).size, grownState, carried)), /^its last line read before, at 15 bytes, had no line end/);
  // An empty file that gained lines continues.
  const empty = tempFile('');
  const emptyState = JsonlSource.fromFile(empty, 'cost').state!;
  fs.writeFileSync(empty, '{"a":1}\n');
  assert.equal(jsonlFileContinues(empty, 8, emptyState, { state: emptyState, crc32: crc32('') }), true);
});
