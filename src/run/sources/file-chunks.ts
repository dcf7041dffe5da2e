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
    yield* fdChunks(file.fd, chunkBytes);
  } finally {
    await file.close();
  }
}

/**
 * {@link fileChunks} for an open descriptor, read from where it stands to its end: how the JSONL
 * reader thread reads stdin when it is a file (`< items.jsonl`).
 */
export async function* fdChunks(fd: number, chunkBytes = FILE_CHUNK_BYTES): AsyncGenerator<Buffer> {
  const buffer = Buffer.allocUnsafeSlow(chunkBytes);
  for (;;) {
    const { bytesRead } = await read(fd, buffer, 0, chunkBytes, null);
    if (bytesRead === 0) return;
    yield buffer.subarray(0, bytesRead);
  }
}
