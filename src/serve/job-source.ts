import fs from 'node:fs/promises';
import { FileSource, JsonlSource, type InputRecord, type InputSource } from '../run/index.js';
import type { AllowedRoots } from './allowed-roots.js';
import type { JobFolder, JobSpec } from './job-folder.js';

/** An input of a job: what a `run` source yields, or a file refused because it leads outside the allowed roots. */
export type JobRecord = InputRecord | { readonly seq: number; readonly id: string | number; readonly denied: string };

/**
 * The records of a job's input, and what `InputSource` tells of it for the job's identity (its
 * state, whether it grew from a former one, the digest of a file read to its end) and to free it (`close`).
 */
export interface JobSource extends Pick<InputSource, 'state' | 'formerlyStateless' | 'continues' | 'readDigest' | 'readCheckpoint' | 'planReadDigest' | 'close'> {
  records(): AsyncIterable<JobRecord>;
}

/**
 * The inputs of a job, read with `gpupool run`'s sources: inline inputs from the job's own
 * `input.jsonl`; a server-side JSONL file; or each file of a server-side folder as
 * `{"path": …}`. The path is confined again when the job starts (a link may have changed
 * since it was submitted), and each file of a folder is checked as it is read: a link inside
 * the folder that leads out fails that item with GPUPOOL_E_PATH_DENIED.
 */
export async function openJobSource(spec: JobSpec, folder: JobFolder, costField: string, roots: AllowedRoots): Promise<JobSource> {
  const input = spec.input;
  if (input.kind === 'inline') return JsonlSource.fromFileAsIs(folder.inputFile, costField);
  const real = roots.resolve(input.path);
  if (input.type === 'jsonl') return JsonlSource.fromFileAsIs(real, costField);
  const files = await FileSource.directory(real);
  return {
    state: files.state,
    formerlyStateless: files.formerlyStateless,
    continues: (former) => files.continues(former),
    close: () => files.close(),
    async *records() {
      for await (const rec of files.records()) {
        if ('parseError' in rec) {
          yield rec;
          continue;
        }
        const file = String(rec.id);
        const target = await fs.realpath(file).catch(() => file);
        if (roots.contains(target)) yield rec;
        else yield { seq: rec.seq, id: rec.id, denied: `"${file}" leads outside the allowed roots through a symbolic link (to ${target})` };
      }
    },
  };
}
