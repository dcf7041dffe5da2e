import fs from 'node:fs';
import picomatch from 'picomatch';
import { GpupoolError } from '../../errors/index.js';
import { shardByNameRefused, type Shard } from '../shard.js';
import { FileSource } from './file-source.js';
import type { InputSource } from './input-record.js';
import { JsonlSource } from './jsonl-source.js';
import { stdinState } from './input-state.js';
import { notFileOrFolder, probeInputFile } from './probe-input.js';
import { ThreadedJsonlSource } from './threaded-jsonl-source.js';

export interface OpenSourceOptions {
  /** Read a JSONL file or stdin on a thread of its own ({@link ThreadedJsonlSource}). @defaultValue false */
  readonly readerThread?: boolean;
  /** For `-`, without the reader thread. @defaultValue process.stdin */
  readonly stdin?: NodeJS.ReadableStream;
  /** Left out of a directory or glob: the run's own output and state dir. */
  readonly skip?: readonly string[];
  /**
   * `--shard-by name`: a folder's or glob's listing holds only the shard's files, so that its
   * positions and its state are the shard's own (files another shard takes change neither).
   */
  readonly shardByName?: Shard;
}

/**
 * `-i`: `-` (stdin, JSONL), a JSONL file, a directory, or a glob of files. A file or folder that
 * cannot be read is an error here, before any worker starts (`probe-input.ts`; a folder's probe
 * is `FileSource`'s, which walks it once for its listing).
 */
export async function openSource(input: string, costField: string, options: OpenSourceOptions = {}): Promise<InputSource> {
  if (options.shardByName !== undefined && (input === '-' || fs.statSync(input, { throwIfNoEntry: false })?.isFile())) throw shardByNameRefused(input);
  if (input === '-') {
    const state = options.stdin === undefined ? stdinState() : undefined;
    if (options.readerThread) return ThreadedJsonlSource.fromStdin(costField, state);
    // process.stdin only here: its getter makes a stdin pipe non-blocking, for Node's own reads.
    return JsonlSource.fromStream((options.stdin ?? process.stdin) as import('node:stream').Readable, 'stdin', costField, state);
  }
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(input);
  } catch {
    stat = undefined;
  }
  if (stat?.isDirectory()) return FileSource.directory(input, options.skip, options.shardByName);
  if (stat?.isFile()) {
    probeInputFile(input);
    return options.readerThread ? ThreadedJsonlSource.fromFile(input, costField) : JsonlSource.fromFile(input, costField);
  }
  if (!stat && picomatch.scan(input).isGlob) return FileSource.glob(input, options.skip, options.shardByName);
  if (stat) throw notFileOrFolder(input);
  throw new GpupoolError('GPUPOOL_E_INPUT_NOT_FOUND', `input "${input}" does not exist (expected a JSONL file, a directory, a glob, or - for stdin)`);
}
