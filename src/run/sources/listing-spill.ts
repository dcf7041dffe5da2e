// A folder's listing on disk, from which a run numbers its files: the walk that the job's
// fingerprint digests is the one the positions come from, and memory stays flat however many
// files the folder holds.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { GpupoolError } from '../../errors/index.js';
import { classifyWriteError } from '../../store/journal-errors.js';

const read = promisify(fs.read);

/** NUL ends each path: the one byte no path holds (a newline may be part of a file name). */
const END = 0;
const CHUNK_BYTES = 64 * 1024;

/**
 * Paths written once, in order, then read back in chunks. The file lies in the temporary folder
 * (`$TMPDIR`, about 100 bytes a file: where /tmp is in memory, point TMPDIR at a disk) and is
 * unlinked as soon as it is made: nothing is left behind whatever ends the process, kill -9
 * included; its space is freed when it is closed.
 */
export class ListingSpill {
  #fd: number | undefined;
  /** A read is in flight: closing now could let it read whatever file reuses the descriptor's number. */
  #reading = false;
  #closeWanted = false;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #bytes = 0;

  private constructor(fd: number) {
    this.#fd = fd;
  }

  static create(): ListingSpill {
    const file = path.join(os.tmpdir(), `gpupool-listing-${process.pid}-${randomBytes(6).toString('hex')}`);
    let fd: number | undefined;
    try {
      fd = fs.openSync(file, 'wx+', 0o600);
      fs.unlinkSync(file);
      return new ListingSpill(fd);
    } catch (err) {
      if (fd !== undefined) fs.closeSync(fd);
      throw spillError(err);
    }
  }

  add(entry: string): void {
    const bytes = Buffer.from(`${entry}\0`);
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.length;
    if (this.#pendingBytes >= CHUNK_BYTES) this.flush();
  }

  /** Writes what `add` buffered; call once every path is added. */
  flush(): void {
    if (this.#fd === undefined || this.#pendingBytes === 0) return;
    const chunk = Buffer.concat(this.#pending, this.#pendingBytes);
    let at = 0;
    try {
      while (at < chunk.length) at += fs.writeSync(this.#fd, chunk, at, chunk.length - at, this.#bytes + at);
    } catch (err) {
      throw spillError(err);
    }
    this.#bytes += chunk.length;
    this.#pending = [];
    this.#pendingBytes = 0;
  }

  /** The paths in the order added, a read's worth at a time. Ends early once closed. */
  async *chunks(): AsyncIterable<string[]> {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    const split = new PathSplitter();
    for (let at = 0; at < this.#bytes && this.#fd !== undefined; ) {
      this.#reading = true;
      let bytesRead: number;
      try {
        ({ bytesRead } = await read(this.#fd, buffer, 0, Math.min(CHUNK_BYTES, this.#bytes - at), at));
      } finally {
        this.#reading = false;
        if (this.#closeWanted) this.close();
      }
      if (bytesRead === 0 || this.#fd === undefined) break;
      at += bytesRead;
      const paths = split.next(buffer.subarray(0, bytesRead));
      if (paths.length > 0) yield paths;
    }
  }

  /** The first `count` paths (fewer if there are fewer), read at once: for a check before the records are read. */
  *first(count: number): Generator<string> {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    const split = new PathSplitter();
    let left = count;
    for (let at = 0; left > 0 && at < this.#bytes && this.#fd !== undefined; ) {
      const bytesRead = fs.readSync(this.#fd, buffer, 0, Math.min(CHUNK_BYTES, this.#bytes - at), at);
      if (bytesRead === 0) break;
      at += bytesRead;
      for (const p of split.next(buffer.subarray(0, bytesRead))) {
        if (left-- === 0) return;
        yield p;
      }
    }
  }

  close(): void {
    if (this.#fd === undefined) return;
    this.#closeWanted = true;
    if (this.#reading) return; // closed when that read is back
    fs.closeSync(this.#fd);
    this.#fd = undefined;
  }
}

/**
 * Splits NUL-ended names, read a chunk at a time, into strings: a name cut by a chunk's end is
 * finished by the next. The listing's and the kept listing's (`kept-listing.ts`) format.
 */
export class PathSplitter {
  #carry: Buffer | undefined;

  /** Bytes of a name whose NUL has not come yet: at the end of the data, a cut one. */
  get unfinished(): boolean {
    return this.#carry !== undefined;
  }

  next(chunk: Buffer): string[] {
    const data = this.#carry === undefined ? chunk : Buffer.concat([this.#carry, chunk]);
    const paths: string[] = [];
    let start = 0;
    for (let end = data.indexOf(END); end !== -1; end = data.indexOf(END, start)) {
      paths.push(data.toString('utf8', start, end));
      start = end + 1;
    }
    this.#carry = start < data.length ? Buffer.from(data.subarray(start)) : undefined;
    return paths;
  }
}

/**
 * A failure to keep the listing, naming the temporary folder (not the input, which was read
 * fine): no room there is GPUPOOL_E_DISK_FULL, anything else (a TMPDIR that does not exist or
 * cannot be written) a usage error.
 */
function spillError(err: unknown): unknown {
  const where = `the listing of a folder input in the temporary folder ${os.tmpdir()} ($TMPDIR)`;
  const full = classifyWriteError(err, where);
  if (full !== err) return full;
  const sys = err as NodeJS.ErrnoException;
  if (typeof sys?.code !== 'string') return err;
  return new GpupoolError('GPUPOOL_E_USAGE', `cannot keep ${where}: ${sys.message}; set TMPDIR to a folder gpupool can write`, { cause: err });
}
