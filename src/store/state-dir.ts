import path from 'node:path';
import { GpupoolError } from '../errors/index.js';

/** The files of a state directory. */
export interface StatePaths {
  readonly journal: string;
  /** An SQLite file whose exclusive OS lock marks the live owner (see `journal-lock.ts`). */
  readonly lock: string;
  /** `{pid, hostname, since}` of the owner, for messages; removed on a clean close. */
  readonly owner: string;
}

export function statePaths(stateDir: string): StatePaths {
  return {
    journal: path.join(stateDir, 'journal.sqlite'),
    lock: path.join(stateDir, 'lock.sqlite'),
    owner: path.join(stateDir, 'owner.json'),
  };
}

/** The default state directory of an output file: `<dir>/.gpupool/<basename>/`. */
export function stateDirFor(outputPath: string): string {
  if (outputPath === '' || outputPath === '-') {
    throw new GpupoolError(
      'GPUPOOL_E_USAGE',
      `a resumable run needs an output file to keep its journal beside, got ${JSON.stringify(outputPath)}: pass -o FILE or --state-dir DIR`,
    );
  }
  const abs = path.resolve(outputPath);
  return path.join(path.dirname(abs), '.gpupool', path.basename(abs));
}
