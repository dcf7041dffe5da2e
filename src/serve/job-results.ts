import fs from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ServeJob } from './serve-job.js';

const CHUNK = 256 * 1024;

/**
 * `GET /v1/jobs/{id}/results`: the job's result lines as NDJSON, in the order they were
 * committed, from the first; it follows the job as groups are committed and ends once the
 * job is final and every committed byte is sent. Only committed bytes are read, so a reader
 * never sees a line that a restart would cut off.
 */
export function jobResultsStream(job: ServeJob): Readable {
  async function* lines(): AsyncGenerator<Buffer> {
    let file: fs.FileHandle | undefined;
    let offset = 0;
    try {
      for (;;) {
        while (offset < job.committedBytes) {
          file ??= await fs.open(job.folder.resultsFile, 'r');
          const buf = Buffer.allocUnsafe(Math.min(CHUNK, job.committedBytes - offset));
          const { bytesRead } = await file.read(buf, 0, buf.length, offset);
          // A file shorter than committed (cut while no server ran): a final job sends what there is.
          if (bytesRead === 0 && (job.final || job.released)) return;
          if (bytesRead === 0) break;
          offset += bytesRead;
          yield buf.subarray(0, bytesRead);
        }
        if ((job.final || job.released) && offset >= job.committedBytes) return;
        await job.changed();
      }
    } finally {
      await file?.close();
    }
  }
  return Readable.from(lines(), { objectMode: false });
}
