import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { openJournal, readJournalStatus, type JobIdentity, type SeqRemap } from '../../src/store/index.js';
import { tempDir } from './helpers.js';

const then = { model: 'm', inputState: 'then' };
const now = { model: 'm', inputState: 'now' };

/** This job with its input as it is now, whose remap of a journal made `then` visits `pairs`. */
function remapping(pairs: Array<[number, number]> | (() => never), asked: unknown[] = []): JobIdentity {
  const remap: SeqRemap = { forEachPair: (visit) => (typeof pairs === 'function' ? pairs() : pairs.forEach(([a, b]) => visit(a, b))) };
  return {
    fingerprint: 'fp-now',
    description: now,
    remap: (fp, description) => (asked.push([fp, description]), fp === 'fp-then' ? remap : undefined),
  };
}

/** A journal made `then`: items 0, 1 and 3 done, 2 failed, finished with 4. */
function journalOfThen(stateDir: string): void {
  const j = openJournal({ stateDir, identity: { fingerprint: 'fp-then', description: then } });
  j.commit({ done: [0, 1, 3], failed: [{ seq: 2, id: 'c', code: 'E_X', message: 'bad page' }], outputBytes: 40 });
  j.markFinished(4);
  j.close();
}

test('a journal whose items moved is taken to their new positions: those gone are forgotten, counted in its meta, and it is no longer finished', (t) => {
  const stateDir = path.join(tempDir(t), 'state');
  journalOfThen(stateDir);
  const asked: unknown[] = [];
  // 0 → 1 and 3 → 4 (done), 2 → 2 (failed); 1 is gone.
  const j = openJournal({ stateDir, identity: remapping([[0, 1], [2, 2], [3, 4]], asked) });
  assert.deepEqual(asked, [['fp-then', then]]);
  assert.equal(j.openedAs, 'remapped');
  assert.deepEqual(j.remapped, { kept: { done: 2, failed: 1 }, forgotten: { done: 1, failed: 0 } });
  const resume = j.resume();
  assert.deepEqual([0, 1, 2, 3, 4, 5].filter((s) => resume.done.has(s)), [1, 4]);
  assert.deepEqual([0, 1, 2, 3, 4, 5].filter((s) => resume.failed.has(s)), [2]);
  assert.deepEqual([resume.counts, resume.outputBytes], [{ done: 2, failed: 1 }, 40]);
  const status = j.status();
  assert.deepEqual([status.finished, status.counts.total, status.fingerprint, status.description], [false, null, 'fp-now', now]);
  assert.deepEqual(status.failures.map((f) => [f.seq, f.id, f.code, f.message]), [[2, 'c', 'E_X', 'bad page']]);
  assert.equal(status.meta.forgottenResults, 1);
  j.close();
  // Opened again, it is this job's as it is: nothing moves a second time.
  const again = openJournal({ stateDir, identity: remapping(() => assert.fail('remapped twice')) });
  assert.equal(again.openedAs, 'same');
  again.close();
});

test('forgotten results add up over remaps, failed ones included', (t) => {
  const stateDir = path.join(tempDir(t), 'state');
  journalOfThen(stateDir);
  openJournal({ stateDir, identity: remapping([[0, 0], [3, 1]]) }).close();
  const status = readJournalStatus(stateDir)!;
  assert.deepEqual([status.counts.done, status.counts.failed, status.meta.forgottenResults], [2, 0, 2]);
  const later = openJournal({ stateDir, identity: { ...remapping([[1, 0]]), fingerprint: 'fp-later', remap: (fp) => (fp === 'fp-now' ? { forEachPair: (visit) => visit(1, 0) } : undefined) } });
  assert.deepEqual(later.remapped, { kept: { done: 1, failed: 0 }, forgotten: { done: 1, failed: 0 } });
  later.close();
  assert.equal(readJournalStatus(stateDir)!.meta.forgottenResults, 3);
});

test('a remap that fails leaves the journal as it was, and one that cannot tell leaves the refusal', (t) => {
  const stateDir = path.join(tempDir(t), 'state');
  journalOfThen(stateDir);
  assert.throws(() => openJournal({ stateDir, identity: remapping(() => { throw new Error('damaged listing'); }) }), /damaged listing/);
  const status = readJournalStatus(stateDir)!;
  assert.deepEqual([status.fingerprint, status.counts.done, status.counts.failed, status.finished], ['fp-then', 3, 1, true]);
  const refused = { fingerprint: 'fp-now', description: now, compared: ['inputState'], remap: () => undefined };
  assert.throws(() => openJournal({ stateDir, identity: refused }), (err: Error & { code?: string }) => err.code === 'GPUPOOL_E_JOURNAL_MISMATCH');
});
