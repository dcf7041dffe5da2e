import type { ResultArrayHeader, ResultLinesHeader, WorkerMessage } from './messages.js';
import { splitJsonArray } from './split-json-array.js';

/** A frame that is neither JSON nor a well-formed `result_lines` frame. */
export class MalformedMessageError extends Error {}

/**
 * Decodes one frame payload from a worker. Classic messages are one JSON object; a
 * `result_lines` frame is a header line followed by one line of JSON per output, which stay
 * text (compact JSON never holds a raw newline, so the split is exact); a `result_array`
 * frame is a header line followed by the outputs as one JSON array, split into each
 * output's text at its top-level commas. Both decode to a `result_lines` message.
 */
export function decodeWorkerMessage(payload: string): WorkerMessage {
  const nl = payload.indexOf('\n');
  if (nl > 0) {
    const header = tryParse(payload.slice(0, nl)) as ResultLinesHeader | ResultArrayHeader | undefined;
    if (header?.type === 'result_array') {
      // Sized up front by the announced count, but never beyond what the text can hold (a value
      // and a comma each), so a wrong count cannot make a huge array.
      const room = ((payload.length - nl) >> 1) + 1;
      const outputsJson = splitJsonArray(payload, nl + 1, Math.max(0, Math.min(header.count | 0, room)));
      if (outputsJson === undefined) throw new MalformedMessageError(`result_array ${header.id}: what follows the header is not a JSON array: ${payload.slice(nl + 1, nl + 81)}`);
      if (outputsJson.length !== header.count) {
        throw new MalformedMessageError(`result_array ${header.id} announces ${header.count} outputs but carries ${outputsJson.length}`);
      }
      return { ...header, type: 'result_lines', outputsJson };
    }
    if (header?.type === 'result_lines') {
      const outputsJson = header.count === 0 ? [] : payload.slice(nl + 1).split('\n');
      if (outputsJson.length !== header.count) {
        throw new MalformedMessageError(`result_lines ${header.id} announces ${header.count} outputs but carries ${outputsJson.length} lines`);
      }
      return { ...header, outputsJson };
    }
  }
  const msg = tryParse(payload);
  if (msg === undefined || typeof msg !== 'object' || msg === null) throw new MalformedMessageError(`a frame is not a JSON object: ${payload.slice(0, 80)}`);
  return msg as WorkerMessage;
}

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Encodes a `result_lines` payload from outputs already serialised as compact JSON. */
export function resultLinesJson(header: ResultLinesHeader, outputsJson: readonly string[]): string {
  return outputsJson.length === 0 ? `${JSON.stringify(header)}\n` : `${JSON.stringify(header)}\n${outputsJson.join('\n')}`;
}
