// The walk of a directory or glob input: which files are inputs, and in which order.
import { isUtf8 } from 'node:buffer';
import fs from 'node:fs';
import path from 'node:path';

/** gpupool's own state folders (journals, worker logs): never inputs, wherever they lie. */
const STATE_FOLDER = '.gpupool';

export interface WalkOptions {
  /** Real paths left out, file or folder, wherever met: the run's own output and state dir ({@link skipSet}). */
  readonly skip: ReadonlySet<string>;
  /** How deep files can be (1: the folder's own files); folders deeper are not read. @defaultValue Infinity */
  readonly depth?: number;
}

/**
 * What the walk meets: a file to be an input, or a file or folder whose name is not UTF-8, which
 * JSON cannot name (`path` then has U+FFFD for the bad bytes), to fail as an input of its own
 * rather than vanish: a folder's files cannot be walked by such a path either.
 */
export type WalkEntry = { readonly path: string; readonly notUtf8?: undefined } | { readonly path: string; readonly notUtf8: 'file' | 'folder' };

/**
 * Files in sorted, depth-first order: positions are stable from run to run, so resume works.
 * `realDir` is `dir` with its links resolved (a link to a folder is a file here, never walked
 * into, so a child's real path is `realDir` and its name), so that a link on the way to a path
 * left out cannot hide it. Names that are not UTF-8 are told apart ({@link readEntries}).
 */
export async function* walkFiles(dir: string, realDir: string, options: WalkOptions, level = 1): AsyncIterable<WalkEntry> {
  const entries = await readEntries(dir);
  const outputsHere = await gpupoolOutputsIn(dir, entries);
  // By name as a string (as always: positions must not move), the bytes deciding between names read alike.
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : Buffer.compare(a.bytes ?? EMPTY, b.bytes ?? EMPTY)));
  for (const { e, name, utf8 } of entries) {
    const full = path.join(dir, name);
    if (!utf8) {
      const deepEnough = level < (options.depth ?? Infinity); // a folder the walk would have read
      if (e.isFile() || e.isSymbolicLink()) yield { path: full, notUtf8: 'file' };
      else if (e.isDirectory() && deepEnough) yield { path: full, notUtf8: 'folder' };
      continue;
    }
    const real = path.join(realDir, name);
    if (options.skip.has(real)) continue;
    if (e.isDirectory()) {
      if (name !== STATE_FOLDER && level < (options.depth ?? Infinity)) yield* walkFiles(full, real, options, level + 1);
    } else if (outputsHere.has(name)) {
      // Another gpupool run's output (its journal is in .gpupool/<name>): a result, not an input
      // (shards writing into the folder they read took each other's outputs for inputs).
      continue;
    } else if (e.isFile() || (e.isSymbolicLink() && !(await isFolder(full)))) {
      // A link to a file is an input; a link to a folder is neither walked into (no loops, no
      // second copy of a tree) nor an input; a dangling link is an input, which fails alone.
      yield { path: full };
    }
  }
}

/** The names in `dir` that a gpupool run writes into: those with a state folder in `dir/.gpupool/` (`stateDirFor`). */
async function gpupoolOutputsIn(dir: string, entries: readonly Entry[]): Promise<ReadonlySet<string>> {
  if (!entries.some((x) => x.name === STATE_FOLDER && x.e.isDirectory())) return NONE;
  const states = await fs.promises.readdir(path.join(dir, STATE_FOLDER), { withFileTypes: true }).catch(() => []);
  return new Set(states.filter((x) => x.isDirectory()).map((x) => x.name));
}

const NONE: ReadonlySet<string> = new Set();

interface Entry {
  readonly e: fs.Dirent<string> | fs.Dirent<Buffer>;
  readonly name: string;
  /** The name's bytes, where they were read (a folder with a name read as U+FFFD). */
  readonly bytes?: Buffer;
  readonly utf8: boolean;
}

const EMPTY = Buffer.alloc(0);

/**
 * A folder's entries with their names as strings, and whether each name is UTF-8. Names are
 * read as bytes only in a folder where one reads as U+FFFD (which a valid name may hold too):
 * elsewhere, as in nearly every folder, strings straight from the system.
 */
async function readEntries(dir: string): Promise<Entry[]> {
  const named = await fs.promises.readdir(dir, { withFileTypes: true });
  if (!named.some((e) => e.name.includes('\uFFFD'))) return named.map((e) => ({ e, name: e.name, utf8: true }));
  const raw = await fs.promises.readdir(dir, { withFileTypes: true, encoding: 'buffer' });
  return raw.map((e) => ({ e, name: e.name.toString('utf8'), bytes: e.name, utf8: isUtf8(e.name) }));
}

async function isFolder(link: string): Promise<boolean> {
  return fs.promises.stat(link).then(
    (st) => st.isDirectory(),
    () => false,
  );
}

/**
 * The real paths under which the walk meets each of `paths`: where it lies (its folder's links
 * resolved, a link itself kept), and where it leads when it is a link that resolves. Both, so
 * that an output given as a link into the folder read is left out whether or not it exists yet.
 */
export function skipSet(paths: readonly string[]): ReadonlySet<string> {
  const set = new Set<string>();
  for (const p of paths) {
    set.add(whereItLies(p));
    try {
      set.add(fs.realpathSync(p));
    } catch {
      // Not there (yet): where it lies is all there is.
    }
  }
  return set;
}

/** `p` with its links resolved; for a path not made yet, its folder's. */
export function realPath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return whereItLies(p);
  }
}

/**
 * `p` with the links of its folders resolved and its own name kept: the deepest folder of it
 * that exists, resolved, and the rest as given, so that an output whose folders are not made
 * yet is placed where they will be (through a link to the input folder, say) on the first run
 * as on the next.
 */
function whereItLies(p: string): string {
  const rest = [path.basename(p)];
  for (let dir = path.dirname(path.resolve(p)); ; dir = path.dirname(dir)) {
    try {
      return path.join(fs.realpathSync(dir), ...rest);
    } catch {
      if (dir === path.dirname(dir)) return path.resolve(p);
      rest.unshift(path.basename(dir));
    }
  }
}

/**
 * How deep a glob's matches can lie below its base, from its part after the base (`*.png`: 1,
 * `*\/x.png`: 2): every `/` of the pattern counts, so an alternative in braces is never cut
 * short. Unbounded for `**` and for extglobs, whose parentheses may hold a `/`.
 */
export function globDepth(globPart: string): number {
  if (globPart.includes('**') || /[@!?+*]\(/.test(globPart)) return Infinity;
  return globPart.split('/').filter((s) => s !== '').length || Infinity;
}
