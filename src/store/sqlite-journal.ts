import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { GpupoolError } from '../errors/index.js';
import type {
  CommitGroup,
  Durability,
  JobIdentity,
  JobJournal,
  JournalOwner,
  JournalStatus,
  LearnedLimit,
  RemapCounts,
  ResumeState,
  StatusOptions,
} from './job-journal.js';
import { howJournalMatches, type JournalOpening } from './job-journal.js';
import type { OpenJournalOptions } from './journal-options.js';
import { classifyWriteError, corruptError, journalError, mismatchError } from './journal-errors.js';
import { JournalLock } from './journal-lock.js';
import { makeDirectories } from './make-directories.js';
import { checkSchema, createSchema, isEmptyDatabase, META_DESCRIPTION, META_FINGERPRINT, USER_META_PREFIX, userMetaOf } from './journal-schema.js';
import { queryStatus } from './journal-status.js';
import { remapFor, remapJournal } from './remap-journal.js';
import { checkJournalOptions, itemId, JournalMemory } from './journal-memory.js';
import { decodeSeqsInto, encodeSeqs, encodeSeqSet } from './seq-codec.js';
import { isSeq } from './seq-set.js';
import { statePaths, type StatePaths } from './state-dir.js';

/** Opens (creating, or with `fresh` recreating) the journal of a job; see {@link SqliteJournal}. */
export function openJournal(options: OpenJournalOptions): SqliteJournal {
  return SqliteJournal.open(options);
}

/**
 * The embedded journal: `journal.sqlite` in WAL mode inside the state directory, held by one
 * live process at a time. Every method is synchronous; a commit of 4,096 items is one small
 * transaction (one blob of seq runs, the failed rows, the progress row).
 */
export class SqliteJournal implements JobJournal {
  readonly stateDir: string;
  readonly durability: Durability;
  /** The process that held this journal last and never closed it (killed), or null. */
  readonly recoveredFrom: JournalOwner | null;

  readonly #paths: StatePaths;
  readonly #db: Database.Database;
  readonly #lock: JournalLock;
  readonly #owner: JournalOwner;
  readonly #memory: JournalMemory;
  #closed = false;

  readonly #sql: {
    insertChunk: Database.Statement<[Buffer]>;
    deleteChunks: Database.Statement<[]>;
    upsertFailed: Database.Statement<[number, string | number, string, string, number]>;
    deleteFailed: Database.Statement<[number]>;
    progress: Database.Statement<[number, number, number, number]>;
  };

  static open(options: OpenJournalOptions): SqliteJournal {
    const { identity } = options;
    const foldEvery = checkJournalOptions('openJournal', identity, options.foldEvery);
    const stateDir = path.resolve(options.stateDir);
    const paths = statePaths(stateDir);
    try {
      makeDirectories(stateDir);
    } catch (err) {
      throw classifyWriteError(err, stateDir);
    }
    const lock = JournalLock.acquire(paths, stateDir);
    let db: Database.Database | undefined;
    try {
      // Only under the lock: never wipe the journal of a live run.
      if (options.fresh === true) wipe(paths);
      let opened: Omit<ReturnType<typeof openDatabase>, 'db'>;
      ({ db, ...opened } = openDatabase(paths.journal, stateDir, identity, options));
      return new SqliteJournal(db, lock, paths, stateDir, options.durability ?? 'process', foldEvery, opened.openedAs, opened.remapped);
    } catch (err) {
      db?.close();
      lock.release();
      throw journalError(err, paths.journal);
    }
  }

  private constructor(
    db: Database.Database,
    lock: JournalLock,
    paths: StatePaths,
    stateDir: string,
    durability: Durability,
    foldEvery: number,
    readonly openedAs: JournalOpening,
    readonly remapped: RemapCounts | undefined,
  ) {
    this.#db = db;
    this.#lock = lock;
    this.#paths = paths;
    this.stateDir = stateDir;
    this.durability = durability;
    this.#memory = new JournalMemory(foldEvery);
    this.recoveredFrom = lock.previousOwner;
    this.#owner = { pid: process.pid, hostname: os.hostname(), since: Date.now() };
    this.#sql = {
      insertChunk: db.prepare('INSERT INTO done_chunks (seqs) VALUES (?)'),
      deleteChunks: db.prepare('DELETE FROM done_chunks'),
      upsertFailed: db.prepare('INSERT OR REPLACE INTO failed (seq, item_id, code, message, failed_at) VALUES (?, ?, ?, ?, ?)'),
      deleteFailed: db.prepare('DELETE FROM failed WHERE seq = ?'),
      progress: db.prepare(
        'UPDATE progress SET output_bytes = ?, done_count = ?, failed_count = ?, commits = commits + 1, updated_at = ? WHERE id = 1',
      ),
    };
    this.#load();
  }

  resume(): ResumeState {
    this.#assertOpen();
    return this.#memory.resumeState();
  }

  commit(group: CommitGroup): void {
    this.#assertOpen();
    const memory = this.#memory;
    // Memory first (a fold encodes the whole set), undone if the transaction fails.
    const staged = memory.stage(group);
    const { fresh } = staged;
    try {
      this.#db.transaction(() => {
        if (staged.fold) {
          this.#sql.deleteChunks.run();
          this.#sql.insertChunk.run(encodeSeqSet(memory.done));
        } else if (fresh.length > 0) {
          this.#sql.insertChunk.run(encodeSeqs(fresh));
        }
        for (const seq of staged.cleared) this.#sql.deleteFailed.run(seq);
        const now = Date.now();
        for (const f of staged.newFailures) this.#sql.upsertFailed.run(f.seq, itemId(f), String(f.code), String(f.message), now);
        this.#sql.progress.run(staged.outputBytes, memory.done.size, memory.failed.size, now);
      })();
    } catch (err) {
      memory.undo(staged);
      throw journalError(err, this.#paths.journal);
    }
    memory.settle(staged);
  }

  retryFailed(): void {
    this.#write(() => {
      this.#db.prepare('DELETE FROM failed').run();
      this.#db.prepare('UPDATE progress SET failed_count = 0, finished_at = NULL, updated_at = ? WHERE id = 1').run(Date.now());
    });
    this.#memory.failed.clear();
  }

  learnedLimits(model: string): Record<string, LearnedLimit> {
    this.#assertOpen();
    const rows = this.#db
      .prepare('SELECT device_key, batch_limit, updated_at FROM learned_limits WHERE model = ?')
      .all(model) as { device_key: string; batch_limit: number; updated_at: number }[];
    const out: Record<string, LearnedLimit> = {};
    for (const r of rows) out[r.device_key] = { limit: r.batch_limit, updatedAt: r.updated_at };
    return out;
  }

  saveLearnedLimit(model: string, deviceKey: string, limit: number): void {
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new GpupoolError('GPUPOOL_E_INTERNAL', `saveLearnedLimit: limit must be an integer ≥ 1, got ${limit}`);
    }
    this.#write(() => {
      this.#db
        .prepare('INSERT OR REPLACE INTO learned_limits (model, device_key, batch_limit, updated_at) VALUES (?, ?, ?, ?)')
        .run(model, deviceKey, limit, Date.now());
    });
  }

  setMeta(key: string, value: unknown): void {
    this.#write(() => {
      if (value === undefined) this.#db.prepare('DELETE FROM meta WHERE key = ?').run(USER_META_PREFIX + key);
      else this.#db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(USER_META_PREFIX + key, JSON.stringify(value));
    });
  }

  markFinished(totalItems: number): void {
    if (!Number.isSafeInteger(totalItems) || totalItems < 0) {
      throw new GpupoolError('GPUPOOL_E_INTERNAL', `markFinished: totalItems must be an integer ≥ 0, got ${totalItems}`);
    }
    this.#write(() => {
      const now = Date.now();
      this.#db.prepare('UPDATE progress SET finished_at = ?, total_items = ?, updated_at = ? WHERE id = 1').run(now, totalItems, now);
    });
  }

  status(options?: StatusOptions): JournalStatus {
    this.#assertOpen();
    try {
      return queryStatus(this.#db, this.stateDir, this.#owner, options);
    } catch (err) {
      throw journalError(err, this.#paths.journal);
    }
  }

  /**
   * Folds the done records into one, closes the database (which folds the WAL into the
   * file) and releases the lock. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      if (this.#memory.records > 1) this.#foldQuietly();
      this.#db.close();
    } finally {
      this.#lock.release();
    }
  }

  /** Best effort: unfolded records are just as valid, only more rows to read next time. */
  #foldQuietly(): void {
    try {
      this.#db.transaction(() => {
        this.#sql.deleteChunks.run();
        this.#sql.insertChunk.run(encodeSeqSet(this.#memory.done));
      })();
      this.#memory.records = 1;
      this.#db.pragma('incremental_vacuum');
    } catch {
      // A full disk, most likely; the next run resumes from the records as they are.
    }
  }

  #load(): void {
    try {
      for (const blob of this.#db.prepare('SELECT seqs FROM done_chunks ORDER BY id').pluck().iterate() as IterableIterator<Buffer>) {
        decodeSeqsInto(blob, this.#memory.done);
        this.#memory.records++;
      }
      for (const seq of this.#db.prepare('SELECT seq FROM failed').pluck().iterate() as IterableIterator<number>) {
        if (!isSeq(seq)) throw corruptError(this.#paths.journal, `failed item with seq ${seq}`);
        if (this.#memory.done.has(seq)) throw corruptError(this.#paths.journal, `seq ${seq} is both done and failed`);
        this.#memory.failed.add(seq);
      }
      const p = this.#db.prepare('SELECT output_bytes, done_count, failed_count FROM progress WHERE id = 1').get() as
        | { output_bytes: number; done_count: number; failed_count: number }
        | undefined;
      if (p === undefined) throw corruptError(this.#paths.journal, 'the progress row is missing');
      const disagree = this.#memory.countsDisagree(p.done_count, p.failed_count);
      if (disagree) throw corruptError(this.#paths.journal, disagree);
      this.#memory.outputBytes = p.output_bytes;
    } catch (err) {
      throw journalError(err, this.#paths.journal);
    }
  }

  #write(fn: () => void): void {
    this.#assertOpen();
    try {
      this.#db.transaction(fn)();
    } catch (err) {
      throw journalError(err, this.#paths.journal);
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new GpupoolError('GPUPOOL_E_INTERNAL', `the journal in ${this.stateDir} is closed`);
  }
}

function openDatabase(file: string, stateDir: string, identity: JobIdentity, options: OpenJournalOptions): { db: Database.Database; openedAs: JournalOpening; remapped?: RemapCounts } {
  const db = new Database(file, { timeout: 5000 });
  try {
    // The first statement reads the header: a file that is not SQLite fails here (NOTADB).
    // auto_vacuum only takes on a new file (before WAL mode writes its header): it lets a
    // close give back the pages that folding frees. On an existing journal it is a no-op.
    db.pragma('auto_vacuum = INCREMENTAL');
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.durability === 'fsync' ? 'FULL' : 'NORMAL'}`);
    db.pragma('journal_size_limit = 67108864');
    let openedAs: JournalOpening = 'new';
    let remapped: RemapCounts | undefined;
    if (isEmptyDatabase(db)) {
      createSchema(db, identity.fingerprint, identity.description);
    } else {
      checkSchema(db, file, true);
      const meta = new Map((db.prepare('SELECT key, value FROM meta').all() as { key: string; value: string }[]).map((r) => [r.key, r.value]));
      const stored = JSON.parse(meta.get(META_DESCRIPTION) ?? '{}') as Record<string, unknown>;
      const fingerprint = meta.get(META_FINGERPRINT);
      const { match, why } = howJournalMatches({ fingerprint, description: stored, meta: userMetaOf(meta) }, identity);
      const remap = match === undefined ? remapFor(identity, fingerprint, stored) : undefined;
      if (match === undefined && remap === undefined) {
        if (options.renewUnused !== true || !nothingCommitted(db)) throw mismatchError(stateDir, stored, identity.description, identity.compared, identity.mismatchRemedy, why);
        // A run that wrote nothing (its workers never started: a typo in `command`, a missing
        // script) left nothing to keep or to mix up: the corrected run takes its journal as new.
        renewSchema(db, identity);
        return withSizeLimit(db, options, { db, openedAs: 'new' });
      }
      openedAs = match ?? 'remapped';
      const description = JSON.stringify(identity.description);
      // At once, so that a kill cannot leave the new fingerprint with the old description (whose state a later growth is checked from).
      db.transaction(() => {
        if (match !== 'same') db.prepare('UPDATE meta SET value = ? WHERE key = ?').run(identity.fingerprint, META_FINGERPRINT);
        // Same job, described anew (a moved config, a grown input): show the current description.
        if (meta.get(META_DESCRIPTION) !== description) db.prepare('UPDATE meta SET value = ? WHERE key = ?').run(description, META_DESCRIPTION);
        // New items came: not finished until they are done.
        if (match === 'grown') db.prepare('UPDATE progress SET finished_at = NULL, total_items = NULL, updated_at = ? WHERE id = 1').run(Date.now());
        if (remap !== undefined) remapped = remapJournal(db, remap);
      })();
    }
    return withSizeLimit(db, options, { db, openedAs, remapped });
  } catch (err) {
    db.close();
    throw err;
  }
}

/** `opened`, once the file is held to `options.maxBytes` (tests of a full disk). */
function withSizeLimit<T>(db: Database.Database, options: OpenJournalOptions, opened: T): T {
  if (options.maxBytes !== undefined) {
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    db.pragma(`max_page_count = ${Math.max(1, Math.floor(options.maxBytes / pageSize))}`);
  }
  return opened;
}

/** Whether no item was ever committed: no output written, nothing done or failed. */
function nothingCommitted(db: Database.Database): boolean {
  const p = db.prepare('SELECT commits, output_bytes AS bytes FROM progress WHERE id = 1').get() as { commits: number; bytes: number } | undefined;
  return p !== undefined && p.commits === 0 && p.bytes === 0;
}

/** Empties a journal and makes it anew for `identity`, in one transaction. */
function renewSchema(db: Database.Database, identity: JobIdentity): void {
  db.transaction(() => {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[];
    for (const { name } of tables) db.exec(`DROP TABLE "${name}"`);
    createSchema(db, identity.fingerprint, identity.description);
  })();
}

function wipe(paths: StatePaths): void {
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(paths.journal + suffix, { force: true });
}

