import { GpupoolError } from '../errors/index.js';
import { SeqCodecError } from './seq-codec.js';

const DISK_FULL_ERRNOS = new Set(['ENOSPC', 'EDQUOT']);
/**
 * No room of another kind, with its own wording: a file-size limit (`ulimit -f`, or the file
 * system's largest file) gives EFBIG; SQLite reports ENOSPC as SQLITE_FULL but a quota or
 * size limit as SQLITE_IOERR_WRITE.
 */
const NO_ROOM_WHY = new Map([
  ['EFBIG', 'the file reached a file-size limit (ulimit -f, or the largest file its file system allows)'],
  ['SQLITE_IOERR_WRITE', 'the disk is full, over quota, or at a file-size limit'],
]);

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Turns a failed write (the output's `ENOSPC`/`EDQUOT`/`EFBIG`, the journal's `SQLITE_FULL`/
 * `SQLITE_IOERR_WRITE`) into GPUPOOL_E_DISK_FULL with the remedy; returns any other error as
 * it was. Use as
 * `catch (err) { throw classifyWriteError(err, outputPath) }`.
 */
export function classifyWriteError(err: unknown, target?: string): unknown {
  if (err instanceof GpupoolError) return err;
  const code = codeOf(err);
  if (code === undefined) return err;
  const where = target === undefined ? '' : ` ${target}`;
  const why = NO_ROOM_WHY.get(code);
  if (why !== undefined) {
    return new GpupoolError(
      'GPUPOOL_E_DISK_FULL',
      `cannot write${where} (${code}): ${why}: make room or raise the limit, then run the same command again; the journal holds everything committed so far`,
      { cause: err },
    );
  }
  if (!(DISK_FULL_ERRNOS.has(code) || code === 'SQLITE_FULL')) return err;
  return new GpupoolError(
    'GPUPOOL_E_DISK_FULL',
    `no space left writing${where} (${code}): free disk space, then run the same command again; the journal holds everything committed so far`,
    { cause: err },
  );
}

/**
 * Maps an error from the journal's SQLite file: full → DISK_FULL, damaged → JOURNAL_CORRUPT,
 * busy → JOURNAL_LOCKED; anything else is returned as it was.
 */
export function journalError(err: unknown, journalPath: string): unknown {
  if (err instanceof GpupoolError) return err;
  const code = codeOf(err) ?? '';
  if (code === 'SQLITE_FULL' || code === 'SQLITE_IOERR_WRITE') return classifyWriteError(err, journalPath);
  if (err instanceof SeqCodecError || code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return corruptError(journalPath, err instanceof Error ? err.message : String(err), err);
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new GpupoolError('GPUPOOL_E_JOURNAL_LOCKED', `${journalPath} is locked by another connection (${code})`, { cause: err });
  }
  return err;
}

export function corruptError(journalPath: string, why: string, cause?: unknown): GpupoolError {
  return new GpupoolError(
    'GPUPOOL_E_JOURNAL_CORRUPT',
    `the journal ${journalPath} is damaged (${why}); it was left as it is: move it aside and run with --fresh (the output is then written again from the start)`,
    cause === undefined ? undefined : { cause },
  );
}

/** An input's state as a refusal shows it; none is an input whose lines cannot be known ahead (a pipe). */
function stateText(state: unknown): string {
  return state === undefined || state === null ? 'none: a pipe or a terminal, whose lines cannot be checked' : JSON.stringify(state);
}

/** What `mismatchError` suggests unless told otherwise: the CLI's ways out. */
const CLI_REMEDY = 'run with --fresh to discard that journal and write the output from the start, or choose another output or --state-dir';

/** The same shard under the other `--shard-by` rule (src/run/shard.ts): why it is another job, and what to do. */
function shardRuleChanged(journal: unknown, thisRun: unknown): string | undefined {
  const rule = (shard: unknown) => (typeof shard === 'string' && shard.endsWith(' by file name') ? 'name' : 'position');
  const bare = (shard: unknown) => (typeof shard === 'string' ? shard.replace(/ by file name$/, '') : shard);
  if (journal === undefined || thisRun === undefined || bare(journal) !== bare(thisRun)) return undefined;
  return `the journal's run gave this shard its inputs by ${rule(journal)}, this run by ${rule(thisRun)}: they are other inputs; run with --shard-by ${rule(journal)} as it did, or again with --fresh`;
}

/**
 * GPUPOOL_E_JOURNAL_MISMATCH naming both jobs and what differs. When only the input's state
 * differs (the same job, its input changed since), the first line says so with both states,
 * and the next `why` it does not continue the journal's, where the input could tell.
 */
export function mismatchError(
  stateDir: string,
  journal: Record<string, unknown>,
  thisRun: Record<string, unknown>,
  compared?: readonly string[],
  remedy: string = CLI_REMEDY,
  why?: string,
): GpupoolError {
  const keys = new Set(compared ?? [...Object.keys(journal), ...Object.keys(thisRun)]);
  const differs = [...keys].filter((k) => JSON.stringify(journal[k]) !== JSON.stringify(thisRun[k]));
  const inputChanged = differs.length === 1 && differs[0] === 'inputState';
  const lines = [
    inputChanged
      ? `the input changed since the journal in ${stateDir} was made (${stateText(journal.inputState)} then, ${stateText(thisRun.inputState)} now): its items are resumed by position, so it is not resumed`
      : `the journal in ${stateDir} belongs to another job`,
    ...(inputChanged && why !== undefined ? [`  why: ${why}`] : []),
    ...(differs.includes('shard') && shardRuleChanged(journal.shard, thisRun.shard) ? [`  why: ${shardRuleChanged(journal.shard, thisRun.shard)}`] : []),
    `  journal:  ${JSON.stringify(journal)}`,
    `  this run: ${JSON.stringify(thisRun)}`,
  ];
  if (differs.length > 0) lines.push(`  differs in: ${differs.join(', ')}`);
  lines.push(remedy);
  return new GpupoolError('GPUPOOL_E_JOURNAL_MISMATCH', lines.join('\n'), { details: { stateDir, journal, thisRun, differs } });
}
