import fs from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import { eachRecord, type InputRecord, type InputSource } from './input-record.js';
import { probeInputFolder } from './probe-input.js';

/**
 * Files in sorted, depth-first order: positions are stable from run to run, so resume works.
 * `skip` (absolute paths) is left out, file or folder.
 */
async function* walk(dir: string, skip: ReadonlySet<string>): AsyncIterable<string> {
  const entries = await fs.promises.readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (skip.size > 0 && skip.has(path.resolve(full))) continue;
    if (e.isDirectory()) yield* walk(full, skip);
    else if (e.isFile() || e.isSymbolicLink()) yield full;
  }
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
    private readonly skip: ReadonlySet<string>,
  ) {}

  get identity(): string {
    return `files:${path.resolve(this.description)}`;
  }

  /**
   * `skip`: paths left out wherever the walk meets them: a run's own output and state dir, which
   * would otherwise become inputs of the run when they lie in the folder it reads.
   */
  static directory(dir: string, skip: readonly string[] = []): FileSource {
    probeInputFolder(dir, dir);
    return new FileSource(dir, undefined, dir, absolute(skip));
  }

  static glob(pattern: string, skip: readonly string[] = []): FileSource {
    const root = picomatch.scan(pattern).base || '.';
    probeInputFolder(root, pattern);
    const matcher = picomatch(pattern, { dot: false });
    return new FileSource(root, (p) => matcher(p), pattern, absolute(skip));
  }

  fractionRead(): number | undefined {
    return undefined;
  }

  records(): AsyncIterable<InputRecord> {
    return eachRecord(this.recordBatches());
  }

  async *recordBatches(): AsyncIterable<readonly InputRecord[]> {
    let seq = 0;
    for await (const file of walk(this.root, this.skip)) {
      if (this.match && !this.match(file)) continue;
      yield [{ seq, id: file, json: JSON.stringify({ path: path.resolve(file) }), cost: 1 }];
      seq++;
    }
  }
}

function absolute(paths: readonly string[]): ReadonlySet<string> {
  return new Set(paths.map((p) => path.resolve(p)));
}
