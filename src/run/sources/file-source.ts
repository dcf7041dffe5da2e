import { createHash } from 'node:crypto';
import path from 'node:path';
import picomatch from 'picomatch';
import { GpupoolError } from '../../errors/index.js';
import type { SeqRemap } from '../../store/index.js';
import { globDepth, realPath, skipSet, walkFiles, type WalkEntry } from './folder-walk.js';
import { eachRecord, type InputRecord, type InputSource } from './input-record.js';
import { inputReadError } from './input-read-error.js';
import { shardOwnsName, type Shard } from '../shard.js';
import { hasKeptListing, keepListing, keptListingPath, pruneKeptListings, readKeptListing, type KeptEntry } from './kept-listing.js';
import { matchListings } from './listing-merge.js';
import { ListingSpill } from './listing-spill.js';
import { probeInputFolder } from './probe-input.js';

interface Walk {
  readonly root: string;
  /** `root` with its links resolved, once: where the walk starts and what the input's identity names. */
  readonly realRoot: string;
  readonly description: string;
  readonly match?: (p: string) => boolean;
  /** A glob's part after the folder it starts from (`*.png` of `pages/*.png`). */
  readonly globPart?: string;
  readonly depth?: number;
}

/**
 * A directory or a glob: each file is one input `{"path": "/abs/file"}`, its id the path as found.
 * Made only for a folder that opens (`probeInputFolder`), so that `gpupool run` and a `serve`
 * job stop at once, before any worker starts, on one that does not. The folder is walked once,
 * when the source is made: its listing is both the input's {@link state} and what numbers the
 * files, so a file added during the run is not an input of it (and cannot shift the others).
 */
export class FileSource implements InputSource {
  private constructor(
    private readonly walk: Walk,
    private readonly skip: ReadonlySet<string>,
    private readonly listing: ListingSpill,
    /**
     * How many files the walk found and a digest of their paths (relative to where the walk
     * starts, so that the same folder named from elsewhere is the same) in order: files are
     * resumed by position, so a file added, removed or renamed since a journal was made must not
     * be resumed. A file's contents are not part of it: an edited file moves no position.
     */
    readonly state: string,
    /** How many files the listing holds. */
    private readonly files: number,
  ) {}

  /** Older gpupool recorded no state for a folder or glob: a journal it made is still resumed. */
  readonly formerlyStateless = true;

  get knownEmpty(): boolean {
    return this.files === 0;
  }

  get description(): string {
    return this.walk.description;
  }

  /**
   * The same for the same folder or glob, but marked when the run's own files lie inside it:
   * before they were left out, they were inputs, so a journal of that time numbered the files
   * otherwise and is refused rather than resumed onto the wrong files.
   */
  get identity(): string {
    // By its real place: the same folder through a link is the same input (as a JSONL file is).
    const where = this.walk.globPart === undefined ? this.walk.realRoot : path.join(this.walk.realRoot, this.walk.globPart);
    return `files:${where}${this.ownFilesMark()}`;
  }

  /** What gpupool called it before it resolved links: its path as given. */
  get formerIdentity(): string {
    return `files:${path.resolve(this.walk.description)}${this.ownFilesMark()}`;
  }

  private ownFilesMark(): string {
    return [...this.skip].some((p) => p.startsWith(this.walk.realRoot + path.sep)) ? ' (own output left out)' : '';
  }

  /**
   * `skip`: paths left out wherever the walk meets them: a run's own output and state dir, which
   * would otherwise become inputs of the run when they lie in the folder it reads.
   */
  static async directory(dir: string, skip: readonly string[] = [], shard?: Shard): Promise<FileSource> {
    probeInputFolder(dir, dir);
    return FileSource.listed({ root: dir, realRoot: realPath(dir), description: dir }, skip, shard);
  }

  /** Folders deeper than the glob can match are not read (`pages/*.png` reads `pages/` alone; a negated glob reads all). */
  static async glob(pattern: string, skip: readonly string[] = [], shard?: Shard): Promise<FileSource> {
    // As the shell reads it: `pages//*.png` and `pages/./*.png` are `pages/*.png` (the walk's paths are normalised).
    const normal = path.normalize(pattern);
    const scan = picomatch.scan(normal);
    const root = scan.base || '.';
    probeInputFolder(root, pattern);
    const matcher = picomatch(normal, { dot: false });
    return FileSource.listed({ root, realRoot: realPath(root), description: pattern, globPart: scan.negated ? `!${scan.glob}` : scan.glob, match: (p) => matcher(p), depth: scan.negated ? Infinity : globDepth(scan.glob) }, skip, shard);
  }

  /**
   * Walks the files into the listing (only the shard's, with `--shard-by name`); a folder that
   * cannot be read on the way is GPUPOOL_E_INPUT_READ, before the run starts.
   */
  private static async listed(walk: Walk, skipPaths: readonly string[], shard?: Shard): Promise<FileSource> {
    const skip = skipSet(skipPaths);
    const listing = ListingSpill.create();
    const digest = new ListingDigest();
    const relative = relativeTo(walk.root);
    try {
      for await (const entry of walkFiles(walk.root, walk.realRoot, { skip, depth: walk.depth })) {
        // A folder whose name is not UTF-8 may hold matches: it fails as an input whatever the glob.
        if (walk.match && entry.notUtf8 !== 'folder' && !walk.match(entry.path)) continue;
        const kept = keptEntry(relative, entry);
        if (shard && !shardOwnsName(shard, slashed(kept.relative))) continue;
        listing.add(encodeEntry(entry));
        digest.add(kept);
      }
      listing.flush();
    } catch (err) {
      listing.close();
      throw inputReadError(err, walk.description) ?? err; // the listing's own failures are GpupoolErrors, passed on
    }
    return new FileSource(walk, skip, listing, digest.state(), digest.files);
  }

  /**
   * Whether the folder begins, in walk order, with every file it held in `former` (a state of
   * this source): files were only added after the last one of then, as with pages named by
   * time. A journal made then keeps every position; the files added are new ones after them.
   * True, or why not (for the refusal).
   */
  continues(former: string): boolean | string {
    const then = /^(\d+) files?, listing sha256 [0-9a-f]{32}$/.exec(former);
    if (then === null) return false;
    if (Number(then[1]) > this.files) return 'it holds fewer files than then: a file was removed or renamed';
    const digest = new ListingDigest();
    for (const entry of this.keptEntries(Number(then[1]))) digest.add(entry);
    return digest.state() === former || `its first ${then[1]} files in walk order are not those of then: a file was added before others, removed or renamed`;
  }

  /**
   * Keeps the listing in the job's state dir (once per listing state; see `kept-listing.ts`);
   * once the journal took this state, `dropOtherListings` removes those of other states, which
   * it no longer resumes from.
   */
  keepListing(stateDir: string): void {
    keepListing(stateDir, this.state, this.keptEntries());
  }

  dropOtherListings(stateDir: string): void {
    pruneKeptListings(stateDir, this.state);
  }

  /**
   * Where the files of a journal made over this folder in state `former` are now, from the
   * listing of then kept in `stateDir`; undefined where none was kept. Files are matched by
   * their path from the folder: one renamed is a new file, one removed is forgotten.
   */
  remapFrom(stateDir: string, former: string): SeqRemap | undefined {
    if (former === this.state || !hasKeptListing(stateDir, former)) return undefined;
    return {
      forEachPair: (visit) => {
        const digest = new ListingDigest();
        const then = (function* () {
          for (const entry of readKeptListing(stateDir, former)) {
            digest.add(entry);
            yield entry;
          }
        })();
        matchListings(then, this.keptEntries(), visit);
        // The file names its state, and its entries must make it: a damaged one matches nothing.
        const made = digest.state();
        if (made !== former) throw new GpupoolError('GPUPOOL_E_JOURNAL_CORRUPT', `the listing kept in ${keptListingPath(stateDir, former)} is not that of ${JSON.stringify(former)} (its entries make ${JSON.stringify(made)}): remove it to have the run refuse the journal instead, or run with --fresh`);
      },
    };
  }

  /** The first `count` entries of the listing (all by default) as kept beside a journal, read from the spill. */
  private *keptEntries(count = this.files): Generator<KeptEntry> {
    const relative = relativeTo(this.walk.root);
    for (const listed of this.listing.first(count)) yield keptEntry(relative, decodeEntry(listed));
  }

  fractionRead(): number | undefined {
    return undefined;
  }

  records(): AsyncIterable<InputRecord> {
    return eachRecord(this.recordBatches());
  }

  /** From the listing, as often as asked (a submitter reads its input again for chunks Redis lost), until `close()`. */
  async *recordBatches(): AsyncIterable<readonly InputRecord[]> {
    let seq = 0;
    for await (const chunk of this.listing.chunks()) {
      yield chunk.map((listed): InputRecord => {
        const entry = decodeEntry(listed);
        if (entry.notUtf8 === undefined) return { seq: seq++, id: entry.path, json: JSON.stringify({ path: path.resolve(entry.path) }), cost: 1 };
        const what = entry.notUtf8 === 'folder' ? 'the folder' : 'the file';
        const lost = entry.notUtf8 === 'folder' ? ', so none of its files is an input' : '';
        return { seq: seq++, id: entry.path, parseError: `the name of ${what} ${entry.path} is not UTF-8 (shown with U+FFFD for its bad bytes): JSON cannot name it${lost}; rename it and run again (gpupool run then runs the renamed file; where a changed folder is refused, a --shard by position or a serve or submit job, run with --fresh or into another output)` };
      });
    }
  }

  /** Stops reading (a drain) and frees the listing: every user of the source calls it when done. */
  close(): void {
    this.listing.close();
  }
}

/**
 * An entry of the listing as the spill holds it: a first character for its kind (`f` a file,
 * `u` a name that is not UTF-8: `U` for a folder), then its path.
 */
function encodeEntry(entry: WalkEntry): string {
  return `${entry.notUtf8 === undefined ? 'f' : entry.notUtf8 === 'file' ? 'u' : 'U'}${entry.path}`;
}

function decodeEntry(listed: string): WalkEntry {
  const kind = listed[0];
  const p = listed.slice(1);
  return kind === 'f' ? { path: p } : { path: p, notUtf8: kind === 'U' ? 'folder' : 'file' };
}

/** A file's path from where the walk starts (`relative`, the OS's separators) with `/` whatever the OS: the same on every machine that mounts the folder elsewhere. */
function slashed(relative: string): string {
  return path.sep === '/' ? relative : relative.split(path.sep).join('/');
}

/** An entry as kept beside the journal: its path from where the walk starts. */
function keptEntry(relative: (p: string) => string, entry: WalkEntry): KeptEntry {
  return { kind: encodeEntry(entry)[0] as KeptEntry['kind'], relative: relative(entry.path) };
}

/**
 * `path.relative(root, p)` for the walk's paths, which are `path.join(root, …)`: their part after
 * the root as joined, where they have it (a third of the cost of keeping a listing went to
 * `path.relative`, which resolves both paths each time).
 */
function relativeTo(root: string): (p: string) => string {
  const joined = path.join(root, 'x');
  const prefix = joined.slice(0, -1);
  if (!joined.endsWith(`${path.sep}x`) || path.isAbsolute(root) !== path.isAbsolute(joined)) return (p) => path.relative(root, p);
  return (p) => (p.startsWith(prefix) && !p.includes(`${path.sep}..${path.sep}`) ? p.slice(prefix.length) : path.relative(root, p));
}

/** A listing's state: how many files, and a digest of their paths relative to where the walk starts, in order. */
class ListingDigest {
  readonly #hash = createHash('sha256');
  files = 0;

  /** A file's digest is of its path alone, as before names were checked; a name that is not UTF-8 is marked with its kind. */
  add(entry: KeptEntry): void {
    if (entry.kind !== 'f') this.#hash.update(`\0${entry.kind}`);
    this.#hash.update(entry.relative).update('\0');
    this.files++;
  }

  state(): string {
    return `${this.files} ${this.files === 1 ? 'file' : 'files'}, listing sha256 ${this.#hash.digest('hex').slice(0, 32)}`;
  }
}
