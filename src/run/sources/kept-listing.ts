// A folder input's listing kept beside its journal, so that a run over the folder changed in the
// middle (a file added before others, removed or renamed) can find which of the journal's files
// are still there, and where, instead of refusing the journal (see `listing-merge.ts`).
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { classifyWriteError } from '../../store/journal-errors.js';
import { PathSplitter } from './listing-spill.js';

/** An entry as kept: its kind (`f` a file, `u`/`U` a file/folder whose name is not UTF-8) and its path from where the walk starts. */
export interface KeptEntry {
  readonly kind: 'f' | 'u' | 'U';
  readonly relative: string;
}

const PREFIX = 'listing-';
/** The first entry names the format and the state the listing is of, so a file is never taken for another state's. */
const MAGIC = 'gpupool-listing-1';
const CHUNK_BYTES = 64 * 1024;

/** `<stateDir>/listing-<hash of the state>`: one file per listing state, so writing one never touches another. */
export function keptListingPath(stateDir: string, state: string): string {
  return path.join(stateDir, PREFIX + createHash('sha256').update(state).digest('hex').slice(0, 16));
}

/**
 * Writes the listing of `state` into the state dir, unless it is there already (a resumed run of
 * the same listing writes nothing; one whose first entries do not name its state is written
 * again). Atomic and synced: a temporary file, fsynced, renamed into place, so a kill or a power
 * loss leaves the whole listing or none.
 */
export function keepListing(stateDir: string, state: string, entries: Iterable<KeptEntry>): void {
  const file = keptListingPath(stateDir, state);
  if (hasKeptListing(stateDir, state)) return;
  const temporary = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  let fd: number | undefined;
  try {
    fs.mkdirSync(stateDir, { recursive: true });
    fd = fs.openSync(temporary, 'wx', 0o600);
    let pending = `${MAGIC}\0${state}\0`;
    for (const entry of entries) {
      pending += `${entry.kind}${entry.relative}\0`;
      if (pending.length >= CHUNK_BYTES) {
        fs.writeSync(fd, pending);
        pending = '';
      }
    }
    fs.writeSync(fd, pending);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(temporary, file);
    syncFolder(stateDir);
  } catch (err) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(temporary, { force: true });
    throw classifyWriteError(err, `the listing of the input folder kept in ${stateDir}`);
  }
}

/** So that the rename outlives a power loss; best effort (some file systems cannot sync a folder). */
function syncFolder(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // The listing is whole either way; at worst a power loss forgets it, and the next change is refused.
  }
}

/** Removes the kept listings of states other than `state` (and temporary files of killed writers): a journal only ever resumes from its own state's. */
export function pruneKeptListings(stateDir: string, state: string): void {
  const keep = path.basename(keptListingPath(stateDir, state));
  let names: string[];
  try {
    names = fs.readdirSync(stateDir);
  } catch {
    return;
  }
  for (const name of names) {
    if (name.startsWith(PREFIX) && name !== keep) fs.rmSync(path.join(stateDir, name), { force: true });
  }
}

/** Whether a listing of `state` was kept in the state dir (its file is there and says it is of that state). */
export function hasKeptListing(stateDir: string, state: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(keptListingPath(stateDir, state), 'r');
  } catch {
    return false;
  }
  const names = readNames(fd);
  try {
    return names.next().value === MAGIC && names.next().value === state;
  } catch {
    return false;
  } finally {
    names.return(undefined);
  }
}

/**
 * The entries of the kept listing of `state`, in walk order, read a chunk at a time. Throws
 * where there is none, or its first entries do not name that state; the caller's digest of the
 * entries checks the rest.
 */
export function* readKeptListing(stateDir: string, state: string): Generator<KeptEntry, void, undefined> {
  const file = keptListingPath(stateDir, state);
  const names = readNames(fs.openSync(file, 'r'));
  try {
    if (names.next().value !== MAGIC || names.next().value !== state) throw new Error(`${file} is not the listing of ${JSON.stringify(state)}`);
    for (const name of names) {
      const kind = name[0];
      if (kind !== 'f' && kind !== 'u' && kind !== 'U') throw new Error(`an entry of kind ${JSON.stringify(kind)} in ${file}`);
      yield { kind, relative: name.slice(1) };
    }
  } finally {
    names.return(undefined);
  }
}

/** The NUL-ended names of a file, a chunk at a time; closes it when done or abandoned. */
function* readNames(fd: number): Generator<string, void, undefined> {
  const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  const split = new PathSplitter();
  try {
    for (let n = fs.readSync(fd, buffer, 0, CHUNK_BYTES, null); n > 0; n = fs.readSync(fd, buffer, 0, CHUNK_BYTES, null)) {
      yield* split.next(buffer.subarray(0, n));
    }
    if (split.unfinished) throw new Error(`the kept listing ends inside an entry`);
  } finally {
    fs.closeSync(fd);
  }
}
