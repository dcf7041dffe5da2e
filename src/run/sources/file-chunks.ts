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
export async function* fileChunks(path: string, chunkBytes = FILE_CHUNK_BYTES): AsyncGenerator<Buffer> {
  const file = await fs.promises.open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafeSlow(chunkBytes);
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, chunkBytes, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await file.close();
  }
}

/**
 * {@link fileChunks} for an open descriptor, read from where it stands to its end: how the JSONL
 * reader thread reads stdin (`process.stdin` belongs to the main thread). A pipe another process
 * made non-blocking answers EAGAIN while it is empty; that is waited out, not an error.
 */
export async function* fdChunks(fd: number, chunkBytes = FILE_CHUNK_BYTES): AsyncGenerator<Buffer> {
  const buffer = Buffer.allocUnsafeSlow(chunkBytes);
  for (;;) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await read(fd, buffer, 0, chunkBytes, null));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      await new Promise((resolve) => setTimeout(resolve, 1));
      continue;
    }
    if (bytesRead === 0) return;
    yield buffer.subarray(0, bytesRead);
  }
}
