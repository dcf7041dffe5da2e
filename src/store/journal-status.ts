import fs from 'node:fs';
import Database from 'better-sqlite3';
import type { FailureRecord, JournalOwner, JournalStatus, LearnedLimit, StatusOptions } from './job-journal.js';
import { journalError } from './journal-errors.js';
import { probeOwner } from './journal-lock.js';
import { checkSchema, META_DESCRIPTION, META_FINGERPRINT, userMetaOf } from './journal-schema.js';
import { statePaths } from './state-dir.js';

const DEFAULT_FAILURE_LIMIT = 20;

interface ProgressRow {
  output_bytes: number;
  done_count: number;
  failed_count: number;
  commits: number;
  started_at: number;
  updated_at: number;
  finished_at: number | null;
  total_items: number | null;
}

/** A row of the `failed` table. */
export interface FailedRow {
  seq: number;
  item_id: string | number;
  code: string;
  message: string;
  failed_at: number;
}

/** Reads a journal's status through an open connection (the owner's, or a read-only one). */
export function queryStatus(
  db: Database.Database,
  stateDir: string,
  running: JournalOwner | null,
  options: StatusOptions = {},
): JournalStatus {
  const limit = options.failureLimit ?? DEFAULT_FAILURE_LIMIT;
  return db.transaction(() => {
    const p = db.prepare('SELECT * FROM progress WHERE id = 1').get() as ProgressRow;
    const metaRows = db.prepare('SELECT key, value FROM meta').all() as { key: string; value: string }[];
    const metaMap = new Map(metaRows.map((r) => [r.key, r.value]));
    const meta = userMetaOf(metaMap);
    const failures = (db.prepare('SELECT * FROM failed ORDER BY seq LIMIT ?').all(limit) as FailedRow[]).map(toFailure);
    return {
      stateDir,
      fingerprint: metaMap.get(META_FINGERPRINT) ?? '',
      description: JSON.parse(metaMap.get(META_DESCRIPTION) ?? '{}') as Record<string, unknown>,
      counts: { done: p.done_count, failed: p.failed_count, total: p.total_items },
      outputBytes: p.output_bytes,
      commits: p.commits,
      failures,
      learnedLimits: queryLearnedLimits(db),
      meta,
      startedAt: p.started_at,
      updatedAt: p.updated_at,
      finishedAt: p.finished_at,
      finished: p.finished_at !== null,
      running,
    };
  })();
}

function toFailure(r: FailedRow): FailureRecord {
  return { seq: r.seq, id: r.item_id, code: r.code, message: r.message, failedAt: r.failed_at };
}

/** model → device key → limit. */
export function queryLearnedLimits(db: Database.Database): Record<string, Record<string, LearnedLimit>> {
  const rows = db.prepare('SELECT model, device_key, batch_limit, updated_at FROM learned_limits ORDER BY model, device_key').all() as {
    model: string;
    device_key: string;
    batch_limit: number;
    updated_at: number;
  }[];
  const out: Record<string, Record<string, LearnedLimit>> = {};
  for (const r of rows) (out[r.model] ??= {})[r.device_key] = { limit: r.batch_limit, updatedAt: r.updated_at };
  return out;
}

/**
 * The status of the journal in `stateDir` for `gpupool status`, read without taking the
 * lock (a run may be going on); null when there is no journal there.
 */
export function readJournalStatus(stateDir: string, options: StatusOptions = {}): JournalStatus | null {
  const paths = statePaths(stateDir);
  if (!fs.existsSync(paths.journal)) return null;
  let db: Database.Database | undefined;
  try {
    db = new Database(paths.journal, { readonly: true, fileMustExist: true, timeout: 2000 });
    checkSchema(db, paths.journal, false);
    return queryStatus(db, stateDir, probeOwner(paths), options);
  } catch (err) {
    throw journalError(err, paths.journal);
  } finally {
    db?.close();
  }
}
