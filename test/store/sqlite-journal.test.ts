import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { openJournal, readJournalStatus, stateDirFor, statePaths } from '../../src/store/index.js';
import { identity, tempDir } from './helpers.js';
import { journalConformance, rejectsWith } from './journal-conformance.js';

journalConformance({
  name: 'sqlite',
  place: (t) => path.join(tempDir(t), 'state'),
  open: async (stateDir, id, options) => openJournal({ stateDir, identity: id, fresh: options?.fresh }),
});

journalConformance({
  name: 'sqlite, folding every 3 commits, fsync',
  place: (t) => path.join(tempDir(t), 'state'),
  open: async (stateDir, id, options) => openJournal({ stateDir, identity: id, fresh: options?.fresh, foldEvery: 3, durability: 'fsync' }),
});

describe('SqliteJournal files', () => {
  test('creates the state dir, a WAL journal, and leaves only journal and lock files after close', (t) => {
    const stateDir = path.join(tempDir(t), 'deep', 'state');
    const j = openJournal({ stateDir, identity: identity() });
    const db = new Database(statePaths(stateDir).journal, { readonly: true });
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
    assert.ok(fs.existsSync(statePaths(stateDir).owner));
    j.close();
    j.close();
    assert.deepEqual(fs.readdirSync(stateDir).sort(), ['journal.sqlite', 'lock.sqlite']);
  });

  test('stateDirFor puts the state beside the output, named after it', () => {
    assert.equal(stateDirFor('/data/out/result.jsonl'), '/data/out/.gpupool/result.jsonl');
    assert.equal(stateDirFor('r.jsonl'), path.join(process.cwd(), '.gpupool', 'r.jsonl'));
    assert.throws(() => stateDirFor('-'), /GPUPOOL_E_USAGE|--state-dir/);
  });

  test('a closed journal refuses work', async (t) => {
    const j = openJournal({ stateDir: tempDir(t), identity: identity() });
    j.close();
    await rejectsWith(() => j.commit({ done: [1], outputBytes: 1 }), 'GPUPOOL_E_INTERNAL');
  });

  test('readJournalStatus reads a closed journal, and says null where there is none', (t) => {
    const stateDir = tempDir(t);
    assert.equal(readJournalStatus(stateDir), null);
    const j = openJournal({ stateDir, identity: identity('fp', { model: 'bert' }) });
    j.commit({ done: [0, 1], failed: [{ seq: 2, code: 'E', message: 'boom', id: 'two' }], outputBytes: 12 });
    j.close();
    const s = readJournalStatus(stateDir)!;
    assert.deepEqual(s.counts, { done: 2, failed: 1, total: null });
    assert.equal(s.failures[0].id, 'two');
    assert.deepEqual(s.description, { model: 'bert' });
    assert.equal(s.running, null);
  });

  test('numeric and string item ids keep their type', (t) => {
    const stateDir = tempDir(t);
    const j = openJournal({ stateDir, identity: identity() });
    j.commit({ done: [], failed: [{ seq: 1, code: 'E', message: 'm', id: 17 }, { seq: 2, code: 'E', message: 'm', id: '17' }], outputBytes: 0 });
    assert.deepEqual(j.status().failures.map((f) => f.id), [17, '17']);
    j.close();
  });

  test('renewUnused: another job\'s journal with nothing committed is taken as new; one with a commit, or without the option (a cluster submit), is refused', async (t) => {
    const stateDir = tempDir(t);
    openJournal({ stateDir, identity: identity('fp-typo', { model: 'm', command: ['python3', 'ech.py'] }) }).close();
    const fixed = identity('fp-fixed', { model: 'm', command: ['python3', 'echo.py'] });
    await rejectsWith(() => openJournal({ stateDir, identity: fixed }), 'GPUPOOL_E_JOURNAL_MISMATCH');
    const j = openJournal({ stateDir, identity: fixed, renewUnused: true });
    assert.equal(j.openedAs, 'new');
    assert.deepEqual(j.status().description, fixed.description);
    j.commit({ done: [], failed: [{ seq: 0, code: 'E', message: 'm', id: 1 }], outputBytes: 0 }); // a failure is a commit too
    j.close();
    await rejectsWith(() => openJournal({ stateDir, identity: identity('fp-other', { model: 'm2' }), renewUnused: true }), 'GPUPOOL_E_JOURNAL_MISMATCH');
  });
});
