// Which files of a folder's former listing are in its listing now, and at which positions: one
// pass over both in step, as both are in walk order (memory flat in the number of files).
import path from 'node:path';
import type { KeptEntry } from './kept-listing.js';

/**
 * The order `walkFiles` lists files in, for paths from where the walk starts: folder by folder,
 * depth first, the names of one folder compared as strings. A path that a folder's name is a
 * prefix of comes after the folder's own name alone (never met between two listings of files).
 */
export function compareInWalk(a: string, b: string): number {
  const x = a.split(path.sep);
  const y = b.split(path.sep);
  for (let i = 0; i < x.length && i < y.length; i++) {
    if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return x.length - y.length;
}

/**
 * Calls `visit(formerPosition, position)` for each entry in both listings, in order; returns how
 * many entries the former one held. Every entry of `former` is read, so a digest taken over them
 * sees them all.
 *
 * A name that is not UTF-8 is kept with U+FFFD for its bad bytes, which a valid name may hold
 * too, and the walk orders names that read alike by their bytes, which the listing does not keep.
 * So between two entries that read alike: of the same kind, they are paired (two names not UTF-8
 * that read alike fail alike, each an input naming its path as it reads); a file against a name
 * not UTF-8, the latter is passed over, as it pairs with no file; two names not UTF-8 of other
 * kinds (a file and a folder), both are passed over, and each runs again at worst.
 */
export function matchListings(former: Iterable<KeptEntry>, now: Iterable<KeptEntry>, visit: (formerPosition: number, position: number) => void): number {
  const older = former[Symbol.iterator]();
  const newer = now[Symbol.iterator]();
  let a = older.next();
  let b = newer.next();
  let i = 0;
  let j = 0;
  while (a.done !== true && b.done !== true) {
    let order = compareInWalk(a.value.relative, b.value.relative);
    if (order === 0 && a.value.kind !== b.value.kind) {
      if (a.value.kind === 'f') order = 1;
      else if (b.value.kind === 'f') order = -1;
    } else if (order === 0) visit(i, j);
    if (order <= 0) {
      a = older.next();
      i++;
    }
    if (order >= 0) {
      b = newer.next();
      j++;
    }
  }
  for (; a.done !== true; a = older.next()) i++;
  newer.return?.();
  return i;
}
