import fs from 'node:fs';
import path from 'node:path';
import { GpupoolError } from '../errors/index.js';
import { classifyWriteError } from './journal-errors.js';

/**
 * `mkdir -p` that fails where Node's recursive mkdir spins. Node retries a parent for as long as
 * mkdir answers ENOENT, and procfs answers ENOENT for a child it cannot hold (as does a path
 * below a dangling symbolic link): `gpupool run -o /proc/version` spun at 100% CPU for ever,
 * deaf to signals, making `/proc/.gpupool`. Here each missing folder is made once, top down, and
 * the first error is thrown as the system gave it; a folder that appears meanwhile is fine.
 */
export function makeDirectories(dir: string): void {
  const missing: string[] = [];
  for (let d = path.resolve(dir); !fs.existsSync(d); d = path.dirname(d)) {
    missing.push(d);
    if (path.dirname(d) === d) break;
  }
  for (const d of missing.reverse()) {
    try {
      fs.mkdirSync(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  // Something that is not a folder at `dir` itself (mkdir said EEXIST): say so as mkdir would.
  if (!fs.statSync(dir).isDirectory()) {
    throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${dir}'`), { code: 'ENOTDIR', syscall: 'mkdir', path: dir });
  }
}

/**
 * {@link makeDirectories} for a folder the user named or will write into, `what` saying what it
 * is for: one that cannot be made is GPUPOOL_E_OUTPUT naming it (no room: GPUPOOL_E_DISK_FULL).
 */
export function makeFolderFor(dir: string, what: string): void {
  try {
    makeDirectories(dir);
  } catch (err) {
    const full = classifyWriteError(err, dir);
    if (full !== err) throw full;
    throw new GpupoolError('GPUPOOL_E_OUTPUT', `cannot make the folder ${dir} for ${what}: ${(err as Error).message}`, { cause: err });
  }
}
