import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { makeDirectories } from '../store/make-directories.js';

/** A model's device memory as measured on one kind of device, kept between runs. */
export interface MeasuredNeed {
  /** The model's name, for people reading the file. */
  readonly model: string;
  /** {@link modelFingerprint}: the same model under the same command and environment. */
  readonly fingerprint: string;
  /** The device's name (`NVIDIA H200`): the same model holds different amounts on different cards. */
  readonly device: string;
  /** The peak seen: bytes one worker and its child processes held on one device. */
  readonly bytes: number;
  /** ISO time of the measurement. */
  readonly measuredAt: string;
}

const fileSchema = z.object({
  version: z.literal(1),
  needs: z.array(
    z.object({
      model: z.string(),
      fingerprint: z.string().min(1),
      device: z.string().min(1),
      bytes: z.number().int().positive(),
      measuredAt: z.string(),
    }),
  ),
});

export const MEASURED_NEED_FILE = 'measured-need.json';

/**
 * Identifies a model for its remembered memory: its name, command (the program resolved),
 * environment and folder (its relative arguments resolve there). Another command or
 * environment is another model, whose memory must be measured again.
 */
export function modelFingerprint(model: { readonly name: string; readonly command: readonly string[]; readonly env: Readonly<Record<string, string>> }, baseDir: string): string {
  const env = Object.entries(model.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(JSON.stringify([model.name, model.command, env, baseDir])).digest('hex').slice(0, 16);
}

/** `$GPUPOOL_CACHE_DIR`, else `$XDG_CACHE_HOME/gpupool`, else `~/.cache/gpupool`. */
export function cacheDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (env.GPUPOOL_CACHE_DIR) return env.GPUPOOL_CACHE_DIR;
  const home = env.HOME || os.homedir();
  return path.join(env.XDG_CACHE_HOME || path.join(home, '.cache'), 'gpupool');
}

/**
 * The measured memory needs of models without a configured `memory.need`, in a small JSON
 * file shared by every gpupool of the user. The file is read again before each write and
 * replaced atomically (temporary file, then rename), so concurrent pools lose at most a
 * measurement, never the file. A file that cannot be read or parsed is ignored, with a
 * warning: a cache is never a reason not to start.
 */
export class MeasuredNeedStore {
  private needs?: MeasuredNeed[];
  /** A bad file is warned about once per store, not at every read. */
  private warned = false;

  constructor(
    readonly file: string,
    private readonly warn: (message: string) => void = (m) => process.stderr.write(`gpupool: warning: ${m}\n`),
  ) {}

  /** The store in {@link cacheDir}. */
  static fromEnv(env: Readonly<Record<string, string | undefined>> = process.env, warn?: (message: string) => void): MeasuredNeedStore {
    return new MeasuredNeedStore(path.join(cacheDir(env), MEASURED_NEED_FILE), warn);
  }

  get(fingerprint: string, device: string): MeasuredNeed | undefined {
    this.needs ??= this.read();
    return this.needs.find((n) => n.fingerprint === fingerprint && n.device === device);
  }

  /**
   * Keeps each measurement that is higher than the one remembered (the peak stays: a short
   * run must not lower what a long one saw). Returns the ones kept. A write that fails is a
   * warning.
   */
  record(measured: readonly MeasuredNeed[]): MeasuredNeed[] {
    const needs = this.read();
    const kept: MeasuredNeed[] = [];
    for (const m of measured) {
      const i = needs.findIndex((n) => n.fingerprint === m.fingerprint && n.device === m.device);
      if (i >= 0 && needs[i].bytes >= m.bytes) continue;
      if (i >= 0) needs[i] = m;
      else needs.push(m);
      kept.push(m);
    }
    this.needs = needs;
    if (kept.length > 0) this.write(needs);
    return kept;
  }

  private read(): MeasuredNeed[] {
    const warn = (message: string): void => {
      if (!this.warned) this.warn(message);
      this.warned = true;
    };
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') warn(`cannot read the remembered memory needs in ${this.file} (${(err as Error).message}); measuring again`);
      return [];
    }
    try {
      return fileSchema.parse(JSON.parse(text)).needs;
    } catch (err) {
      const why = err instanceof z.ZodError ? err.issues.map((i) => `${i.path.join('.') || 'file'}: ${i.message}`).join('; ') : (err as Error).message;
      warn(`ignoring the remembered memory needs in ${this.file}: not a measured-need file (${why}); it will be replaced by new measurements`);
      return [];
    }
  }

  private write(needs: readonly MeasuredNeed[]): void {
    const tmp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      makeDirectories(path.dirname(this.file));
      fs.writeFileSync(tmp, `${JSON.stringify({ version: 1, needs }, null, 2)}\n`);
      fs.renameSync(tmp, this.file);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      this.warn(`cannot remember measured memory needs in ${this.file}: ${(err as Error).message}`);
    }
  }
}
