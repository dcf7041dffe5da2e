import fs from 'node:fs';
import path from 'node:path';
import { GpupoolError } from '../errors/index.js';

/**
 * The folders (`--allow-root`) whose files a client may name by server-side path. A path
 * is refused when it holds a `..` segment, when it lies outside every root, and when it
 * leads outside through a symbolic link: both the path as written and the real path it
 * resolves to must lie inside a root.
 */
export class AllowedRoots {
  /** Real paths of the roots (symbolic links in the roots themselves resolved once). */
  readonly roots: readonly string[];
  /** The roots as given, made absolute: a path written through a linked root is inside too. */
  private readonly givenRoots: readonly string[];

  constructor(roots: readonly string[]) {
    this.givenRoots = roots.map((r) => path.resolve(r));
    this.roots = roots.map((r) => {
      let real: string;
      try {
        real = fs.realpathSync(path.resolve(r));
      } catch {
        throw new GpupoolError('GPUPOOL_E_USAGE', `--allow-root ${r} does not exist; it must be an existing folder`);
      }
      if (!fs.statSync(real).isDirectory()) throw new GpupoolError('GPUPOOL_E_USAGE', `--allow-root ${r} is not a folder`);
      return real;
    });
  }

  /**
   * The real absolute path of `requested`, or GPUPOOL_E_PATH_DENIED. A relative path is
   * taken inside the first root.
   */
  resolve(requested: string): string {
    if (this.roots.length === 0) {
      throw new GpupoolError('GPUPOOL_E_PATH_DENIED', `server-side path "${requested}" refused: this server was started without --allow-root, so it reads no files of its own`);
    }
    if (requested.includes('\0')) throw new GpupoolError('GPUPOOL_E_PATH_DENIED', `server-side path ${JSON.stringify(requested)} holds a NUL byte`);
    if (requested.split(/[\\/]+/).includes('..')) {
      throw new GpupoolError('GPUPOOL_E_PATH_DENIED', `server-side path "${requested}" holds a ".." segment; name a path inside ${this.describe()} without ".."`);
    }
    const absolute = path.isAbsolute(requested) ? path.normalize(requested) : path.join(this.roots[0], requested);
    if (!this.contains(absolute) && !inside(this.givenRoots, absolute)) {
      throw new GpupoolError('GPUPOOL_E_PATH_DENIED', `server-side path "${requested}" lies outside the allowed roots ${this.describe()}`);
    }
    let real: string;
    try {
      real = fs.realpathSync(absolute);
    } catch {
      throw new GpupoolError('GPUPOOL_E_INPUT_NOT_FOUND', `server-side path "${requested}" does not exist (looked for ${absolute})`);
    }
    if (!this.contains(real)) {
      throw new GpupoolError('GPUPOOL_E_PATH_DENIED', `server-side path "${requested}" leads outside the allowed roots ${this.describe()} through a symbolic link (to ${real})`);
    }
    return real;
  }

  /** Whether an absolute path lies inside (or is) one of the roots. */
  contains(absolute: string): boolean {
    return inside(this.roots, absolute);
  }

  private describe(): string {
    return this.roots.map((r) => `"${r}"`).join(', ');
  }
}

function inside(roots: readonly string[], absolute: string): boolean {
  return roots.some((root) => absolute === root || absolute.startsWith(root.endsWith(path.sep) ? root : root + path.sep));
}
