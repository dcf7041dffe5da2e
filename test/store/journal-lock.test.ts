import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, test } from 'node:test';
import { openJournal, pidScope, readJournalStatus, statePaths } from '../../src/store/index.js';
import { identity, killHard, spawnFixture, tempDir, waitForLine } from './helpers.js';
import { rejectsWith } from './journal-conformance.js';

describe('journal lock', () => {
  test('a live process holds it: a second one is refused, named by PID; after kill -9 it is taken over', async (t) => {
    const stateDir = tempDir(t);
    const child = spawnFixture('hold-journal.ts', [stateDir, 'fp-hold']);
    t.after(() => killHard(child));
    await waitForLine(child, 'ready');

    const err = await rejectsWith(() => openJournal({ stateDir, identity: identity('fp-hold') }), 'GPUPOOL_E_JOURNAL_LOCKED');
    assert.match(err.message, new RegExp(`PID ${child.pid}\\b`));
    // Refused even with --fresh: a live run's journal is never wiped.
    await rejectsWith(() => openJournal({ stateDir, identity: identity('other'), fresh: true }), 'GPUPOOL_E_JOURNAL_LOCKED');

    const live = readJournalStatus(stateDir)!;
    assert.equal(live.running?.pid, child.pid, 'status names the live run without taking the lock');
    assert.equal(live.counts.done, 3);

    await killHard(child);
    // The owner file still names the dead process; the OS lock went with it.
    assert.equal(JSON.parse(fs.readFileSync(statePaths(stateDir).owner, 'utf8')).pid, child.pid);
    assert.equal(readJournalStatus(stateDir)!.running, null);
    const j = openJournal({ stateDir, identity: identity('fp-hold') });
    assert.equal(j.recoveredFrom?.pid, child.pid);
    assert.deepEqual([...j.resume().done], [0, 1, 2], 'what the dead process committed is there');
    j.close();
  });

  test('a holder that shares the hostname but not the PIDs (a container on a shared volume) is not called this process', async (t) => {
    const stateDir = tempDir(t);
    const child = spawnFixture('hold-journal.ts', [stateDir, 'fp-hold']);
    t.after(() => killHard(child));
    await waitForLine(child, 'ready');
    const written = JSON.parse(fs.readFileSync(statePaths(stateDir).owner, 'utf8')) as { pid: number; pidScope?: string };
    assert.equal(written.pidScope, pidScope(), 'the holder records where its PID means something');
    // As a holder in another PID namespace would have written it: its PID is the same number as ours.
    fs.writeFileSync(statePaths(stateDir).owner, JSON.stringify({ ...written, pid: process.pid, pidScope: 'boot pid:[4026532999]' }));
    const err = await rejectsWith(() => openJournal({ stateDir, identity: identity('fp-hold') }), 'GPUPOOL_E_JOURNAL_LOCKED');
    assert.match(err.message, new RegExp(`in use by PID ${process.pid} on .* \\(in another PID namespace, such as another container\\), since`));
    assert.doesNotMatch(err.message, /already open/);
    assert.deepEqual(Object.keys(readJournalStatus(stateDir)!.running!).sort(), ['hostname', 'pid', 'since'], 'status shows no scope');
  });

  test('a stale owner file of a dead PID does not block', (t) => {
    const stateDir = tempDir(t);
    fs.writeFileSync(statePaths(stateDir).owner, JSON.stringify({ pid: 2 ** 22 + 12345, hostname: 'gone', since: 1 }));
    const j = openJournal({ stateDir, identity: identity() });
    assert.equal(j.recoveredFrom?.pid, 2 ** 22 + 12345);
    assert.equal(j.status().running?.pid, process.pid);
    j.close();
    assert.equal(fs.existsSync(statePaths(stateDir).owner), false, 'a clean close removes the owner file');
    const again = openJournal({ stateDir, identity: identity() });
    assert.equal(again.recoveredFrom, null);
    again.close();
  });

  test('the same process cannot open one journal twice', async (t) => {
    const stateDir = tempDir(t);
    const j = openJournal({ stateDir, identity: identity() });
    const err = await rejectsWith(() => openJournal({ stateDir, identity: identity() }), 'GPUPOOL_E_JOURNAL_LOCKED');
    assert.match(err.message, /already open/);
    j.close();
    openJournal({ stateDir, identity: identity() }).close();
  });

  test('a damaged lock file is replaced, not fatal', (t) => {
    const stateDir = tempDir(t);
    fs.writeFileSync(statePaths(stateDir).lock, 'not a database, just bytes that are long enough to be read as a header.....');
    openJournal({ stateDir, identity: identity() }).close();
  });
});
