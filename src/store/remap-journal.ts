/**
 * A journal taken to its job's input as it is now, where the items moved (a folder with a file
 * added before others, removed or renamed; see `JobIdentity.remap`): the done and failed items
 * still there are renumbered, those whose input is gone are forgotten. Their result lines stay
 * in the output, which is never rewritten: the journal counts only the items of the input now.
 */
import type Database from 'better-sqlite3';
import type { JobIdentity, RemapCounts, SeqRemap } from './job-journal.js';
import { USER_META_PREFIX } from './journal-schema.js';
import type { FailedRow } from './journal-status.js';
import { decodeSeqsInto, encodeSeqSet } from './seq-codec.js';
import { SeqSet } from './seq-set.js';

/** The user meta key that adds up the results forgotten by remaps: lines of the output whose inputs are gone. */
export const FORGOTTEN_RESULTS_META = 'forgottenResults';

/** The identity's remap of a stored journal, where it has one. */
export function remapFor(identity: JobIdentity, storedFingerprint: string | undefined, storedDescription: Record<string, unknown>): SeqRemap | undefined {
  if (identity.remap === undefined || storedFingerprint === undefined) return undefined;
  return identity.remap(storedFingerprint, storedDescription);
}

/** Renumbers the journal's items by `remap`; call inside the transaction that takes the new fingerprint. */
export function remapJournal(db: Database.Database, remap: SeqRemap): RemapCounts {
  const done = new SeqSet();
  for (const blob of db.prepare('SELECT seqs FROM done_chunks').pluck().iterate() as IterableIterator<Buffer>) decodeSeqsInto(blob, done);
  const failed = new Map<number, FailedRow>();
  for (const row of db.prepare('SELECT seq, item_id, code, message, failed_at FROM failed').iterate() as IterableIterator<FailedRow>) failed.set(row.seq, row);
  const doneNow = new SeqSet();
  const failedNow: FailedRow[] = [];
  remap.forEachPair((formerSeq, seq) => {
    if (done.has(formerSeq)) doneNow.add(seq);
    else {
      const row = failed.get(formerSeq);
      if (row !== undefined) failedNow.push({ ...row, seq });
    }
  });
  db.prepare('DELETE FROM done_chunks').run();
  if (doneNow.size > 0) db.prepare('INSERT INTO done_chunks (seqs) VALUES (?)').run(encodeSeqSet(doneNow));
  db.prepare('DELETE FROM failed').run();
  const insert = db.prepare('INSERT INTO failed (seq, item_id, code, message, failed_at) VALUES (?, ?, ?, ?, ?)');
  for (const f of failedNow) insert.run(f.seq, f.item_id, f.code, f.message, f.failed_at);
  const forgotten = { done: done.size - doneNow.size, failed: failed.size - failedNow.length };
  // New inputs may have come: not finished until they are done.
  db.prepare('UPDATE progress SET done_count = ?, failed_count = ?, finished_at = NULL, total_items = NULL, updated_at = ? WHERE id = 1').run(doneNow.size, failedNow.length, Date.now());
  addForgotten(db, forgotten.done + forgotten.failed);
  return { kept: { done: doneNow.size, failed: failedNow.length }, forgotten };
}

function addForgotten(db: Database.Database, n: number): void {
  if (n === 0) return;
  const key = USER_META_PREFIX + FORGOTTEN_RESULTS_META;
  const before = db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(key) as string | undefined;
  db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(key, JSON.stringify((before === undefined ? 0 : Number(JSON.parse(before))) + n));
}
