import fs from 'node:fs';
import { GpupoolError } from '../../errors/index.js';
import { inputReadError } from './input-read-error.js';

/**
 * Reads the first byte of an input file, so that an input that cannot be read (permissions, an
 * I/O error) stops the run before any worker starts: a model may take minutes to load, and the
 * error would otherwise come only after it had. The source reads the file afresh later; an
 * error then is worded the same way (`inputReadError`). Opened without blocking and checked to
 * be a regular file, so that a FIFO put in its place since it was looked at cannot hang here.
 */
export function probeInputFile(file: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    if (!fs.fstatSync(fd).isFile()) throw notFileOrFolder(file);
    fs.readSync(fd, Buffer.alloc(1), 0, 1, 0);
  } catch (err) {
    throw inputReadError(err, file) ?? err;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Opens the folder a directory input walks, or a glob starts from (`input` is then the glob), for
 * the same reason. Folders below it are read as they are reached.
 */
export function probeInputFolder(folder: string, input: string): void {
  try {
    fs.opendirSync(folder).closeSync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const where = folder === input ? `input "${input}"` : `input "${input}" starts from "${folder}", which`;
    if (code === 'ENOENT') throw new GpupoolError('GPUPOOL_E_INPUT_NOT_FOUND', `${where} does not exist`);
    if (code === 'ENOTDIR') throw new GpupoolError('GPUPOOL_E_INPUT_NOT_FOUND', `${where} is not a folder`);
    throw inputReadError(err, input) ?? err;
  }
}

/** A FIFO, socket or device given as `-i`: only `-` reads a stream. */
export function notFileOrFolder(input: string): GpupoolError {
  return new GpupoolError('GPUPOOL_E_INPUT_NOT_FOUND', `input "${input}" is not a regular file or a folder (a pipe or a device?): pass a stream as stdin, with -i -`);
}
