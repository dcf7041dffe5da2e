import fs from 'node:fs';
import { promisify } from 'node:util';

/** Bytes per read: what `fs.createReadStream` reads by default for a file. */
export const FILE_CHUNK_BYTES = 64 * 1024;

const read = promisify(fs.read);

/**
 * A file's bytes as views of **one reused buffer**: a chunk is valid only until the next one is
 * asked for, so a reader that keeps bytes across chunks must copy them.
 *
 * Why not `fs.createReadStream`: it allocates a buffer per read. At `gpupool run`'s rate that is
 * ~25 MB/s of ArrayBuffers that live until a scavenge (longer when V8 promoted one), and the
 * high-water mark of that garbage stays in the process's malloc heap: 3-4 MB of peak RSS at 10M
 * items on the dev VM (`bench/results/memory/`). A read on demand also leaves the pace to the
 * reader, which pauses anyway while `--max-pending` items wait.
 */
export async function* fileChunks(path: string, chunkBytes = FILE_CHUNK_BYTES, limitBytes = Infinity): AsyncGenerator<Buffer> {
  const file = await fs.promises.open(path, 'r');
  try {
    yield* fdChunks(file.fd, chunkBytes, limitBytes);
  } finally {
    await file.close();
  }
}

/**
 * {@link fileChunks} for an open descriptor, read from where it stands to its end, or until
 * `limitBytes` were read (a JSONL file is read as long as it was when the run began: lines added
 * during the run are the next run's, and the journal's state says which bytes ran). How the JSONL
 * reader thread reads stdin when it is a file (`< items.jsonl`).
 */
export async function* fdChunks(fd: number, chunkBytes = FILE_CHUNK_BYTES, limitBytes = Infinity): AsyncGenerator<Buffer> {
  const buffer = Buffer.allocUnsafeSlow(chunkBytes);
  for (let left = limitBytes; left > 0; ) {
    const { bytesRead } = await read(fd, buffer, 0, Math.min(chunkBytes, left), null);
    if (bytesRead === 0) return;
    left -= bytesRead;
    yield buffer.subarray(0, bytesRead);
  }
}
