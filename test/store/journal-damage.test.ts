import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { classifyWriteError, openJournal, readJournalStatus, reconcileOutput, statePaths } from '../../src/store/index.js';
import { isGpupoolError } from '../../src/errors/index.js';
import { identity, tempDir } from './helpers.js';
import { rejectsWith } from './journal-conformance.js';

function journalWithData(stateDir: string): void {
  const j = openJournal({ stateDir, identity: identity() });
  for (let c = 0; c < 50; c++) {
    const failed = [{ seq: 1_000_000 + c, code: 'E', message: 'x'.repeat(2000), id: c }];
    j.commit({ done: [c * 2, c * 2 + 1], failed, outputBytes: c });
  }
  j.close();
}

describe('damaged journal', () => {
  test('garbage in journal.sqlite is GPUPOOL_E_JOURNAL_CORRUPT, and the file is left untouched', async (t) => {
    const stateDir = tempDir(t);
    journalWithData(stateDir);
    const file = statePaths(stateDir).journal;
    fs.writeFileSync(file, Buffer.alloc(64 * 1024, 'garbage! '));
    const before = fs.readFileSync(file);
    const err = await rejectsWith(() => openJournal({ stateDir, identity: identity() }), 'GPUPOOL_E_JOURNAL_CORRUPT');
    assert.ok(err.message.includes(file), err.message);
    assert.match(err.message, /--fresh/);
    assert.deepEqual(fs.readFileSync(file), before, 'never overwritten silently');
    await rejectsWith(() => readJournalStatus(stateDir), 'GPUPOOL_E_JOURNAL_CORRUPT');
    // The lock was released on the way out.
    const fresh = openJournal({ stateDir, identity: identity(), fresh: true });
    assert.equal(fresh.resume().done.size, 0);
    fresh.close();
  });

  test('garbage over pages in the middle of a valid file is found too', async (t) => {
    const stateDir = tempDir(t);
    journalWithData(stateDir);
    const file = statePaths(stateDir).journal;
    const size = fs.statSync(file).size;
    assert.ok(size > 8 * 4096, `journal should span pages, has ${size} bytes`);
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.alloc(3 * 4096, 0xa5), 0, 3 * 4096, 4096 * 2);
    fs.closeSync(fd);
    await rejectsWith(() => openJournal({ stateDir, identity: identity() }), 'GPUPOOL_E_JOURNAL_CORRUPT');
  });

  test('an SQLite file that is not a gpupool journal is refused, not adopted', async (t) => {
    const stateDir = tempDir(t);
    const db = new Database(statePaths(stateDir).journal);
    db.exec('CREATE TABLE notes (text TEXT)');
    db.close();
    const err = await rejectsWith(() => openJournal({ stateDir, identity: identity() }), 'GPUPOOL_E_JOURNAL_CORRUPT');
    assert.match(err.message, /not a gpupool journal/);
  });

  test('records that disagree with the progress row are refused', async (t) => {
    const stateDir = tempDir(t);
    journalWithData(stateDir);
    const db = new Database(statePaths(stateDir).journal);
    db.exec('DELETE FROM done_chunks WHERE id = (SELECT max(id) FROM done_chunks)');
    db.close();
    const err = await rejectsWith(() => openJournal({ stateDir, identity: identity() }), 'GPUPOOL_E_JOURNAL_CORRUPT');
    assert.match(err.message, /counts disagree/);
  });

  test('an undecodable done blob is refused', async (t) => {
    const stateDir = tempDir(t);
    journalWithData(stateDir);
    const db = new Database(statePaths(stateDir).journal);
    db.prepare('UPDATE done_chunks SET seqs = ? WHERE id = 1').run(Buffer.from([0x09, 0x01]));
    db.close();
    await rejectsWith(() => openJournal({ stateDir, identity: identity() }), 'GPUPOOL_E_JOURNAL_CORRUPT');
  });
});

describe('full disk', () => {
  test('a commit that hits SQLITE_FULL is GPUPOOL_E_DISK_FULL, all-or-nothing, and the next run resumes', async (t) => {
    const stateDir = tempDir(t);
    const j = openJournal({ stateDir, identity: identity(), maxBytes: 64 * 1024 });
    let committed = 0;
    let err: unknown;
    try {
      for (let c = 0; c < 1000; c++) {
        const failed = Array.from({ length: 4 }, (_, i) => ({ seq: 100_000 + c * 4 + i, code: 'E', message: 'y'.repeat(1500), id: c }));
        j.commit({ done: [c], failed, outputBytes: c + 1 });
        committed++;
      }
    } catch (e) {
      err = e;
    }
    assert.ok(isGpupoolError(err) && err.code === 'GPUPOOL_E_DISK_FULL', `expected DISK_FULL, got ${String(err)}`);
    assert.match(err.message, /run the same command again/);
    assert.ok(committed > 0);
    // In memory, the failed group left no trace either.
    const mem = j.resume();
    assert.equal(mem.done.size, committed);
    assert.equal(mem.failed.size, committed * 4);
    assert.equal(mem.outputBytes, committed);
    j.close();

    const again = openJournal({ stateDir, identity: identity() });
    const r = again.resume();
    assert.deepEqual([r.done.size, r.failed.size, r.outputBytes], [committed, committed * 4, committed]);
    again.commit({ done: [committed], outputBytes: committed + 1 });
    again.close();
  });

  test('classifyWriteError: ENOSPC from a real write becomes GPUPOOL_E_DISK_FULL, other errors pass through', (t) => {
    if (!fs.existsSync('/dev/full')) return t.skip('no /dev/full here');
    const fd = fs.openSync('/dev/full', 'w');
    let raw: unknown;
    try {
      fs.writeSync(fd, 'line\n');
    } catch (e) {
      raw = e;
    } finally {
      fs.closeSync(fd);
    }
    const mapped = classifyWriteError(raw, 'out.jsonl');
    assert.ok(isGpupoolError(mapped) && mapped.code === 'GPUPOOL_E_DISK_FULL');
    assert.match(mapped.message, /out\.jsonl.*ENOSPC/);
    assert.equal(mapped.cause, raw);
    const other = Object.assign(new Error('nope'), { code: 'EACCES' });
    assert.equal(classifyWriteError(other), other);
  });
});

describe('reconcileOutput', () => {
  test('cuts an uncommitted tail, leaves an exact file alone, refuses a file that lost committed bytes', async (t) => {
    const dir = tempDir(t);
    const out = `${dir}/out.jsonl`;
    assert.equal(reconcileOutput(out, 0), 0, 'no file yet and nothing committed');
    fs.writeFileSync(out, '{"a":1}\n{"b":2}\n{"c":');
    assert.equal(reconcileOutput(out, 16), 5);
    assert.equal(fs.readFileSync(out, 'utf8'), '{"a":1}\n{"b":2}\n');
    assert.equal(reconcileOutput(out, 16), 0);
    const err = await rejectsWith(() => reconcileOutput(out, 100), 'GPUPOOL_E_JOURNAL_MISMATCH');
    assert.match(err.message, /16 bytes.*100 bytes/);
    fs.rmSync(out);
    await rejectsWith(() => reconcileOutput(out, 16), 'GPUPOOL_E_JOURNAL_MISMATCH');
  });
});
