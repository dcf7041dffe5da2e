import { ERROR_CODES } from '../errors/index.js';
import { heldBackMessage, type HeldBackLine } from '../run/index.js';

/**
 * After `run` or `submit`: says on stderr that the input's last line was left for the next run
 * (unfinished: a producer may still be writing it), and gives the exit status, 16
 * (`GPUPOOL_E_INPUT_UNFINISHED`) where nothing else failed, so a script that goes on after a
 * zero status does not go on without that line.
 */
export function exitWithHeldBack(input: string, heldBack: HeldBackLine | undefined, exitCode: number): number {
  if (heldBack === undefined) return exitCode;
  process.stderr.write(`gpupool: ${heldBackMessage(input, heldBack)}\n`);
  return exitCode === 0 ? ERROR_CODES.GPUPOOL_E_INPUT_UNFINISHED.exitCode : exitCode;
}
