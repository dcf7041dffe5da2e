import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import { eachRecord, type InputRecord, type InputSource } from './input-record.js';
import { inputReadError } from './input-read-error.js';
import { probeInputFolder } from './probe-input.js';

/** gpupool's own state folders (journals, worker logs): never inputs, wherever they lie. */
const STATE_FOLDER = '.gpupool';

/**
 * Files in sorted, depth-first order: positions are stable from run to run, so resume works.
 * `realDir` is `dir` with its links resolved (a link to a folder is a file here, never walked
 * into, so a child's real path is `realDir` and its name); `skip` holds real paths left out,
 * file or folder, so that a link on the way to either side cannot hide a match.
 */
async function* walk(dir: string, realDir: string, skip: ReadonlySet<string>): AsyncIterable<string> {
  const entries = await fs.promises.readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const full = path.join(dir, e.name);
    const real = path.join(realDir, e.name);
    if (skip.has(real)) continue;
    if (e.isDirectory()) {
      if (e.name !== STATE_FOLDER) yield* walk(full, real, skip);
    } else if (e.isFile() || (e.isSymbolicLink() && !(await isFolder(full)))) {
      // A link to a file is an input; a link to a folder is neither walked into (no loops, no
      // second copy of a tree) nor an input; a dangling link is an input, which fails alone.
      yield full;
    }
  }
}

async function isFolder(link: string): Promise<boolean> {
  return fs.promises.stat(link).then(
    (st) => st.isDirectory(),
    () => false,
  );
}

/**
 * A directory or a glob: each file is one input `{"path": "/abs/file"}`, its id the path as found.
 * Made only for a folder that opens (`probeInputFolder`), so that `gpupool run` and a `serve`
 * job stop at once, before any worker starts, on one that does not.
 */
export class FileSource implements InputSource {
  private constructor(
    private readonly root: string,
    private readonly match: ((p: string) => boolean) | undefined,
    readonly description: string,
    private readonly skip: readonly string[],
  ) {}

  private listing = '';

  /**
   * How many files the walk found when the source was made, and a digest of their paths in
   * order: files are resumed by their position in the walk, so a file added, removed or renamed
   * since a journal was made (which shifts the positions after it) must not be resumed. A file's
   * contents are not part of it: an edited file moves no position.
   */
  get state(): string {
    return this.listing;
  }

  /** Older gpupool recorded no state for a folder or glob: a journal it made is still resumed. */
  readonly formerlyStateless = true;

  /**
   * The same for the same folder or glob, but marked when the run's own files lie inside it:
   * before they were left out, they were inputs, so a journal of that time numbered the files
   * otherwise and is refused rather than resumed onto the wrong files.
   */
  get identity(): string {
    const root = realPath(this.root);
    const ownFilesInside = [...this.realSkip()].some((p) => p.startsWith(root + path.sep));
    return `files:${path.resolve(this.description)}${ownFilesInside ? ' (own output left out)' : ''}`;
  }

  /**
   * `skip`: paths left out wherever the walk meets them: a run's own output and state dir, which
   * would otherwise become inputs of the run when they lie in the folder it reads.
   */
  static async directory(dir: string, skip: readonly string[] = []): Promise<FileSource> {
    probeInputFolder(dir, dir);
    return new FileSource(dir, undefined, dir, skip).listed();
  }

  static async glob(pattern: string, skip: readonly string[] = []): Promise<FileSource> {
    const root = picomatch.scan(pattern).base || '.';
    probeInputFolder(root, pattern);
    const matcher = picomatch(pattern, { dot: false });
    return new FileSource(root, (p) => matcher(p), pattern, skip).listed();
  }

  /**
   * Walks the files once for {@link state}, before the run starts; a folder that cannot be read
   * on the way is GPUPOOL_E_INPUT_READ, then rather than mid-run.
   */
  private async listed(): Promise<this> {
    const digest = createHash('sha256');
    let files = 0;
    try {
      for await (const file of this.files()) {
        digest.update(file).update('\0');
        files++;
      }
    } catch (err) {
      throw inputReadError(err, this.description) ?? err;
    }
    this.listing = `${files} files, listing sha256 ${digest.digest('hex').slice(0, 32)}`;
    return this;
  }

  fractionRead(): number | undefined {
    return undefined;
  }

  records(): AsyncIterable<InputRecord> {
    return eachRecord(this.recordBatches());
  }

  async *recordBatches(): AsyncIterable<readonly InputRecord[]> {
    let seq = 0;
    for await (const file of this.files()) {
      yield [{ seq, id: file, json: JSON.stringify({ path: path.resolve(file) }), cost: 1 }];
      seq++;
    }
  }

  /** The inputs, in the order they are numbered. */
  private async *files(): AsyncIterable<string> {
    for await (const file of walk(this.root, realPath(this.root), this.realSkip())) {
      if (!this.match || this.match(file)) yield file;
    }
  }

  /** Read when needed, not when made: the run makes its output's folders after opening the source. */
  private realSkip(): ReadonlySet<string> {
    return new Set(this.skip.map(realPath));
  }
}

/** `p` with its links resolved; for a file not made yet, its folder's. */
function realPath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    try {
      return path.join(fs.realpathSync(path.dirname(p)), path.basename(p));
    } catch {
      return path.resolve(p);
    }
  }
}
