import fs from 'node:fs';
import picomatch from 'picomatch';
import { GpupoolError } from '../../errors/index.js';
import { FileSource } from './file-source.js';
import type { InputSource } from './input-record.js';
import { JsonlSource } from './jsonl-source.js';

/** `-i`: `-` (stdin, JSONL), a JSONL file, a directory, or a glob of files. */
export function openSource(input: string, costField: string, stdin: NodeJS.ReadableStream = process.stdin): InputSource {
  if (input === '-') return JsonlSource.fromStream(stdin as import('node:stream').Readable, 'stdin', costField);
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(input);
  } catch {
    stat = undefined;
  }
  if (stat?.isDirectory()) return FileSource.directory(input);
  if (stat?.isFile()) return JsonlSource.fromFile(input, costField);
  if (!stat && picomatch.scan(input).isGlob) return FileSource.glob(input);
  throw new GpupoolError('GPUPOOL_E_INPUT_NOT_FOUND', `input "${input}" does not exist (expected a JSONL file, a directory, a glob, or - for stdin)`);
}
