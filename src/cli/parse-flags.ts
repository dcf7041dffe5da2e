import { Option } from 'commander';
import { ON_STRAY_MODES } from '../audit/index.js';
import { GpupoolError } from '../errors/index.js';

export function parseShard(value: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(value);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count) {
    throw new GpupoolError('GPUPOOL_E_USAGE', `--shard must be I/N with 0 ≤ I < N (e.g. 0/4), got "${value}"`);
  }
  return { index, count };
}

export function parsePositiveInt(flag: string) {
  return (value: string): number => {
    // Decimal digits only: Number() also takes "0x10", "1e3" and " 7 ", and rounds 2^53 + 1.
    const n = /^[0-9]+$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < 1) throw new GpupoolError('GPUPOOL_E_USAGE', `${flag} must be an integer ≥ 1, got "${value}" (decimal digits, at most ${Number.MAX_SAFE_INTEGER})`);
    return n;
  };
}

/** The longest timer Node keeps (2^31 - 1 ms): a longer one fires at once, over and over. */
const MAX_TIMER_SECONDS = 2_147_483;

/** A number of seconds > 0 (fractions allowed) a timer can wait, named by its flag when it is not one. */
export function parsePositiveSeconds(flag: string) {
  return (value: string): number => {
    const n = value.trim() === '' ? NaN : Number(value);
    if (!Number.isFinite(n) || n <= 0 || n > MAX_TIMER_SECONDS) {
      throw new GpupoolError('GPUPOOL_E_USAGE', `${flag} takes a number of seconds > 0 and at most ${MAX_TIMER_SECONDS}, got "${value}"`);
    }
    return n;
  };
}

export function parseChoice<T extends string>(flag: string, allowed: readonly T[]) {
  return (value: string): T => {
    if (!(allowed as readonly string[]).includes(value)) throw new GpupoolError('GPUPOOL_E_USAGE', `${flag} must be one of ${allowed.join(', ')}, got "${value}"`);
    return value as T;
  };
}

/** `--on-stray warn|kill`, the same on every command that starts workers (run, serve, agent). */
export function onStrayOption(): Option {
  return new Option('--on-stray <mode>', 'a worker or its child on a device it was not given, or over memory.limit: warn reports it; kill also kills it')
    .argParser(parseChoice('--on-stray', ON_STRAY_MODES))
    .default('warn');
}
