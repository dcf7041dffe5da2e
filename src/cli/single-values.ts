import type { Command } from 'commander';
import { maskRedisUrl } from '../cluster/redis-url.js';
import { GpupoolError } from '../errors/index.js';

/** How a refusal quotes an option's two values: not at all (a token), or with a Redis URL's password masked. */
type ShownAs = 'secret' | 'redis';

/** Options whose values are never printed, or printed masked, wherever they appear. */
const SHOWN_AS: Readonly<Record<string, ShownAs>> = { token: 'secret', redis: 'redis' };

/**
 * Refuses, on every subcommand of `program`, an option that takes one value given twice. The
 * argument parser keeps the last value, so `-i a.jsonl -i b.jsonl` ran b.jsonl alone, and
 * a.jsonl's lines were never read, without a word; `--port 8000 --port 9000` or
 * `--state-dir a --state-dir b` dropped the first as quietly. An option's default does not count
 * (the refusal listens for what the command line gave, not for a value already set). Flags
 * without a value (`--json`), variadic options (`-m a b`) and those whose help ends in
 * "(repeatable)" (their parser collects every value, like doctor's `--port`) may repeat.
 */
export function refuseRepeatedOptions(program: Command): void {
  for (const cmd of program.commands) {
    for (const option of cmd.options) {
      if (option.variadic || option.isBoolean() || option.description.endsWith('(repeatable)')) continue;
      const flag = option.flags.replace(/\s*[<[].*$/, '');
      // Run's and submit's -i take a folder or a glob; infer's reads one file, where that advice is wrong.
      const hint = flag === '-i, --input' && /\bglob\b/.test(option.description) ? ": for several files, name their folder or a quoted glob (-i 'pages/*.png')" : '';
      // null: given without a value (`--watch` of `--watch [seconds]`); undefined: not given yet.
      let first: string | null | undefined;
      cmd.on(`option:${option.name()}`, (value: string | null | undefined) => {
        if (first === undefined) {
          first = value ?? null;
          return;
        }
        throw new GpupoolError('GPUPOOL_E_USAGE', repeatedMessage(flag, first, value ?? null, SHOWN_AS[option.name()], hint));
      });
    }
  }
}

function repeatedMessage(flag: string, first: string | null, second: string | null, shown: ShownAs | undefined, hint: string): string {
  const show = (v: string | null) => (v === null ? 'no value' : JSON.stringify(shown === 'redis' ? maskRedisUrl(v) : v));
  // A token given twice must not reach the terminal (or a CI log) in the refusal.
  const values = shown === 'secret' ? '' : ` (${show(first)}, then ${show(second)})`;
  return `${flag} was given twice${values}; it takes one value${hint}`;
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
