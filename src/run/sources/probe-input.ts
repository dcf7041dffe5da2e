import fs from 'node:fs';
import { GpupoolError } from '../../errors/index.js';
import { inputReadError } from './input-read-error.js';

/**
 * Reads the first byte of an input file, or opens an input directory, so that an input that
 * cannot be read (permissions, an I/O error) stops the run before any worker starts: a model may
 * take minutes to load, and the error would otherwise come only after it had. The source still
 * reads the input afresh later; an error then is worded the same way (`inputReadError`).
 */
export function probeInputFile(file: string): void {
  probe(file, () => {
    const fd = fs.openSync(file, 'r');
    try {
      fs.readSync(fd, Buffer.alloc(1), 0, 1, 0);
    } finally {
      fs.closeSync(fd);
    }
  });
}

/** The same for a directory that is walked (`-i DIR`, or the folder a glob starts from). */
export function probeInputDirectory(dir: string, input: string = dir): void {
  probe(input, () => fs.opendirSync(dir).closeSync(), dir);
}

function probe(input: string, read: () => void, dir?: string): void {
  try {
    read();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && dir !== undefined) {
      throw new GpupoolError('GPUPOOL_E_INPUT_NOT_FOUND', `input "${input}" starts from the folder "${dir}", which does not exist`);
    }
    throw inputReadError(err, input) ?? err;
  }
}
