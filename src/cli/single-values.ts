import { maskRedisUrl } from '../cluster/redis-url.js';
import { GpupoolError } from '../errors/index.js';

/**
 * The parser of an option that takes one value and has no default: given twice, it is refused.
 * The argument parser keeps the last value, so `-i a.jsonl -i b.jsonl` ran b.jsonl alone, and
 * a.jsonl's lines were never read, without a word (a run takes one input: a file, a folder,
 * a glob or -). `parse` checks and converts the value as the option's own parser would.
 * `shown` is how the refusal quotes the two values: 'secret' for a token (neither is quoted),
 * 'redis' for a Redis URL (its password masked); quoted as given otherwise.
 */
export function once<T = string>(flag: string, parse?: (value: string) => T, shown?: 'secret' | 'redis'): (value: string, previous: T | undefined) => T {
  return (value, previous) => {
    if (previous !== undefined) {
      const show = (v: string) => JSON.stringify(shown === 'redis' ? maskRedisUrl(v) : v);
      // A token given twice must not reach the terminal (or a CI log) in the refusal.
      const values = shown === 'secret' ? '' : ` (${show(String(previous))}, then ${show(value)})`;
      throw new GpupoolError('GPUPOOL_E_USAGE', `${flag} was given twice${values}; it takes one value${flag === '-i, --input' ? ': for several files, name their folder or a quoted glob (-i \'pages/*.png\')' : ''}`);
    }
    return parse ? parse(value) : (value as T);
  };
}

/**
 * Words left over after the options, for a command that takes none. The most common cause is a
 * glob the shell expanded (`-i pages/*.png` unquoted: the first file went to -i, the rest here),
 * which the argument parser reported as "too many arguments … Expected 0 arguments but got 2",
 * naming neither the words nor the fix.
 */
export function refuseExtraArguments(command: string, args: readonly string[]): void {
  if (args.length === 0) return;
  const shown = args.slice(0, 3).map((a) => JSON.stringify(a)).join(', ') + (args.length > 3 ? ` and ${args.length - 3} more` : '');
  throw new GpupoolError(
    'GPUPOOL_E_USAGE',
    `${command} takes no arguments besides its options, got ${shown}: -i takes one path; if the shell expanded a glob (-i pages/*.png), quote it (-i 'pages/*.png') so that gpupool reads it, or name the folder`,
  );
}
