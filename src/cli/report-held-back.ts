import { ERROR_CODES } from '../errors/index.js';
import { heldBackMessage, type HeldBackLine } from '../run/index.js';

/**
 * After `run` or `submit`: says on stderr that the input's last line was left for the next run
 * (unfinished: a producer may still be writing it), and gives the exit status, 16
 * (`GPUPOOL_E_INPUT_UNFINISHED`) where nothing else failed, so a script that goes on after a
 * zero status does not go on without that line.
 */
export function exitWithHeldBack(input: string, heldBack: HeldBackLine | undefined, summary: { readonly failed: number; readonly resumedFailed: number }): number {
  const failed = summary.failed + summary.resumedFailed;
  const exitCode = failed > 0 ? 1 : 0;
  if (heldBack === undefined) return exitCode;
  // Without a progress display, this may be the only line: it must not hide why the status is 1.
  const also = failed > 0 ? `; the exit status is 1, not 16: ${failed.toLocaleString('en-US')} item${failed === 1 ? '' : 's'} failed (their error lines are in the output)` : '';
  process.stderr.write(`gpupool: ${heldBackMessage(input, heldBack)}${also}\n`);
  return failed > 0 ? exitCode : ERROR_CODES.GPUPOOL_E_INPUT_UNFINISHED.exitCode;
}
