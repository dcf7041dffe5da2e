/**
 * The journal's tables. Done items are not rows: each commit adds one blob of seq runs to
 * `done_chunks` (see `seq-codec.ts`), folded into one blob now and then. Failed items are
 * rows, because they carry their error. `progress` is one row updated by every commit.
 */
import type Database from 'better-sqlite3';
import { GpupoolError } from '../errors/index.js';
import { corruptError } from './journal-errors.js';

/** "GPJ1": marks an SQLite file as a gpupool journal. */
export const APPLICATION_ID = 0x4750_4a31;
export const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE progress (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  output_bytes INTEGER NOT NULL,
  done_count INTEGER NOT NULL,
  failed_count INTEGER NOT NULL,
  commits INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  finished_at INTEGER,
  total_items INTEGER
);
CREATE TABLE done_chunks (id INTEGER PRIMARY KEY, seqs BLOB NOT NULL);
-- item_id has no type so that a numeric id stays a number and a string id a string
CREATE TABLE failed (seq INTEGER PRIMARY KEY, item_id, code TEXT NOT NULL, message TEXT NOT NULL, failed_at INTEGER NOT NULL);
CREATE TABLE learned_limits (
  model TEXT NOT NULL,
  device_key TEXT NOT NULL,
  batch_limit INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (model, device_key)
) WITHOUT ROWID;
`;

/** Meta keys the journal owns; `setMeta` keys live under `user.`. */
export const META_FINGERPRINT = 'fingerprint';
export const META_DESCRIPTION = 'description';
export const USER_META_PREFIX = 'user.';

/** `setMeta`'s values among a journal's meta entries (key, JSON). */
export function userMetaOf(entries: Iterable<readonly [string, string]>): Record<string, unknown> {
  const meta: Record<string, unknown> = {};
  for (const [k, v] of entries) if (k.startsWith(USER_META_PREFIX)) meta[k.slice(USER_META_PREFIX.length)] = JSON.parse(v);
  return meta;
}

/** Creates the tables of a new journal in one transaction. */
export function createSchema(db: Database.Database, fingerprint: string, description: Record<string, unknown>): void {
  const now = Date.now();
  db.transaction(() => {
    db.exec(SCHEMA);
    const meta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
    meta.run(META_FINGERPRINT, fingerprint);
    meta.run(META_DESCRIPTION, JSON.stringify(description));
    db.prepare(
      'INSERT INTO progress (id, output_bytes, done_count, failed_count, commits, started_at, updated_at) VALUES (1, 0, 0, 0, 0, ?, ?)',
    ).run(now, now);
    db.pragma(`application_id = ${APPLICATION_ID}`);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  })();
}

/** Whether the file holds no tables yet (new, or emptied). */
export function isEmptyDatabase(db: Database.Database): boolean {
  return (db.prepare('SELECT count(*) AS n FROM sqlite_master').get() as { n: number }).n === 0;
}

/**
 * Checks that an existing file is a gpupool journal this version reads and, with
 * `deep`, that SQLite finds its pages sound (`quick_check`: linear in the file's size).
 */
export function checkSchema(db: Database.Database, journalPath: string, deep: boolean): void {
  const appId = db.pragma('application_id', { simple: true }) as number;
  if (appId !== APPLICATION_ID) throw corruptError(journalPath, `not a gpupool journal: application_id ${appId}`);
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new GpupoolError(
      'GPUPOOL_E_JOURNAL_MISMATCH',
      `the journal ${journalPath} was written by a newer gpupool (schema ${version}; this one reads up to ${SCHEMA_VERSION}): upgrade gpupool, or run with --fresh`,
    );
  }
  if (version !== SCHEMA_VERSION) throw corruptError(journalPath, `unknown schema version ${version}`);
  if (!deep) return;
  const check = db.pragma('quick_check', { simple: true }) as string;
  if (check !== 'ok') throw corruptError(journalPath, `SQLite quick_check: ${check}`);
}
