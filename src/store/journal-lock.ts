/**
 * One live process per journal. The lock is an exclusive OS lock on `lock.sqlite`, taken
 * through SQLite's exclusive locking mode: the kernel drops it when its process dies, so a
 * lock left by a dead process (kill -9, power loss) is simply free, with no PID-reuse race
 * and no stale file to judge. `owner.json` beside it only names the holder for messages.
 *
 * Never open `lock.sqlite` with `node:fs`: closing any descriptor of a file drops the POSIX
 * locks the process holds on it (SQLite itself guards against this).
 */
import fs from 'node:fs';
import os from 'node:os';
import Database from 'better-sqlite3';
import { GpupoolError } from '../errors/index.js';
import type { JournalOwner } from './job-journal.js';
import { classifyWriteError } from './journal-errors.js';
import { describeLockHolder, thisProcessRecord, type PidRecord } from './pid-scope.js';
import type { StatePaths } from './state-dir.js';

/** How long to wait for a lock held only briefly (by a `gpupool status` probe). */
const ACQUIRE_TIMEOUT_MS = 250;

export class JournalLock {
  readonly #db: Database.Database;
  readonly #ownerPath: string;
  /** The holder named by `owner.json` when the last owner did not close cleanly. */
  readonly previousOwner: JournalOwner | null;

  private constructor(db: Database.Database, ownerPath: string, previousOwner: JournalOwner | null) {
    this.#db = db;
    this.#ownerPath = ownerPath;
    this.previousOwner = previousOwner;
  }

  /** Takes the lock of a state directory, or throws GPUPOOL_E_JOURNAL_LOCKED naming the holder. */
  static acquire(paths: StatePaths, stateDir: string): JournalLock {
    const db = openLocked(paths, stateDir);
    const previousOwner = readOwner(paths.owner);
    const me: JournalOwner & PidRecord = { ...thisProcessRecord(), since: Date.now() };
    const tmp = `${paths.owner}.${process.pid}.tmp`;
    try {
      fs.writeFileSync(tmp, JSON.stringify(me));
      fs.renameSync(tmp, paths.owner);
    } catch (err) {
      db.close();
      throw classifyWriteError(err, paths.owner);
    }
    return new JournalLock(db, paths.owner, previousOwner);
  }

  release(): void {
    if (!this.#db.open) return;
    fs.rmSync(this.#ownerPath, { force: true });
    this.#db.close();
  }
}

function openLocked(paths: StatePaths, stateDir: string): Database.Database {
  for (let attempt = 0; ; attempt++) {
    let db: Database.Database | undefined;
    try {
      db = new Database(paths.lock, { timeout: ACQUIRE_TIMEOUT_MS });
      db.pragma('journal_mode = MEMORY');
      db.pragma('locking_mode = EXCLUSIVE');
      // The first write takes the exclusive lock, and exclusive mode keeps it until close.
      db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER); DELETE FROM holder;');
      db.prepare('INSERT INTO holder (pid) VALUES (?)').run(process.pid);
      return db;
    } catch (err) {
      db?.close();
      const code = (err as { code?: string }).code ?? '';
      if (code.startsWith('SQLITE_BUSY')) throw lockedError(stateDir, readOwnerRecord(paths.owner), err);
      // Nobody can hold a lock through SQLite on a file that is not a database: replace it.
      if ((code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) && attempt === 0) {
        fs.rmSync(paths.lock, { force: true });
        continue;
      }
      throw classifyWriteError(err, paths.lock);
    }
  }
}

function lockedError(stateDir: string, owner: (JournalOwner & PidRecord) | null, cause: unknown): GpupoolError {
  const who = owner === null ? 'another process (it has not named itself yet)' : describeLockHolder(owner);
  return new GpupoolError(
    'GPUPOOL_E_JOURNAL_LOCKED',
    `the journal in ${stateDir} is in use by ${who}: wait for that run to finish or stop it, then run again`,
    { cause, details: { stateDir, owner: owner && ownerOnly(owner) } },
  );
}

/** The owner file's content, or null when missing or unreadable. */
export function readOwner(ownerPath: string): JournalOwner | null {
  const record = readOwnerRecord(ownerPath);
  return record && ownerOnly(record);
}

function readOwnerRecord(ownerPath: string): (JournalOwner & PidRecord) | null {
  try {
    const raw = JSON.parse(fs.readFileSync(ownerPath, 'utf8')) as Partial<JournalOwner & PidRecord>;
    if (typeof raw.pid !== 'number' || typeof raw.hostname !== 'string' || typeof raw.since !== 'number') return null;
    const owner = { pid: raw.pid, hostname: raw.hostname, since: raw.since };
    return typeof raw.pidScope === 'string' ? { ...owner, pidScope: raw.pidScope } : owner;
  } catch {
    return null;
  }
}

/** What messages and `status` show of a holder; its PID scope is for judging it, not for people. */
function ownerOnly(record: JournalOwner): JournalOwner {
  return { pid: record.pid, hostname: record.hostname, since: record.since };
}

/**
 * The live holder of a state directory's lock, or null when none holds it. Takes a shared
 * lock for an instant, which an acquirer waits out ({@link ACQUIRE_TIMEOUT_MS}).
 */
export function probeOwner(paths: StatePaths): JournalOwner | null {
  if (!fs.existsSync(paths.lock)) return null;
  let db: Database.Database | undefined;
  try {
    db = new Database(paths.lock, { readonly: true, fileMustExist: true, timeout: 0 });
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    return null;
  } catch (err) {
    if (!((err as { code?: string }).code ?? '').startsWith('SQLITE_BUSY')) return null;
    return readOwner(paths.owner) ?? { pid: 0, hostname: os.hostname(), since: 0 };
  } finally {
    db?.close();
  }
}
