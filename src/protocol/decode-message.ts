import { isAscii, isUtf8 } from 'node:buffer';
import type { ResultArrayHeader, ResultLinesHeader, ResultLinesMessage, WorkerMessage } from './messages.js';
import { isPlainJsonLine } from '../json/plain-json-line.js';
import { OutputSlices } from './output-texts.js';
import { splitJsonArrayBytes } from './split-json-array.js';

/** A frame that is neither JSON nor a well-formed `result_lines` frame. */
export class MalformedMessageError extends Error {}

const NEWLINE = 0x0a;

/**
 * Decodes one frame payload from a worker. Classic messages are one JSON object; a
 * `result_lines` frame is a header line followed by one line of JSON per output (compact JSON
 * never holds a raw newline, so the split is exact); a `result_array` frame is a header line
 * followed by the outputs as one JSON array, split at its top-level commas. Both decode to a
 * `result_lines` message whose outputs stay slices of the payload's bytes ({@link OutputSlices}):
 * no string per output. A payload that is not valid UTF-8 is first decoded as a string would be
 * (bad bytes become U+FFFD), so a worker's bytes reach the output only as valid UTF-8.
 */
export function decodeWorkerMessage(payload: Buffer | string): WorkerMessage {
  let bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  let nl = bytes.indexOf(NEWLINE);
  if (nl > 0) {
    const header = tryParse(bytes.toString('utf8', 0, nl)) as ResultLinesHeader | ResultArrayHeader | undefined;
    if (header?.type === 'result_array' || header?.type === 'result_lines') {
      // ASCII (the SDKs' JSON) is valid UTF-8 too: one check for the common case.
      const ascii = isAscii(bytes);
      if (!ascii && !isUtf8(bytes)) {
        bytes = Buffer.from(bytes.toString('utf8'), 'utf8');
        // A replaced sequence in the header moves what follows: find its end again (ASCII bytes are never replaced).
        nl = bytes.indexOf(NEWLINE);
      }
      const outputs = header.type === 'result_array' ? arrayOutputs(bytes, nl + 1, header, ascii) : lineOutputs(bytes, nl + 1, header, ascii);
      // The parsed header becomes the message, not a spread copy of it: on Node 20 (V8 11.3) the
      // copies `{ ...parsed, more }` makes are promoted to the old generation although nothing
      // keeps them (3M copies in a loop: 366 MB promoted, 9 MB written as here;
      // bench/memory/spread-promotion.ts). One per answer was most of what `gpupool run` promoted:
      // old-generation garbage that, with the buffers it holds, grew host memory until a full GC.
      const message = header as unknown as ResultLinesMessage;
      message.type = 'result_lines';
      message.outputs = outputs;
      return message;
    }
  }
  const text = typeof payload === 'string' ? payload : payload.toString('utf8');
  const msg = tryParse(text);
  if (msg === undefined || typeof msg !== 'object' || msg === null || Array.isArray(msg)) throw new MalformedMessageError(`a frame is not a JSON object: ${text.slice(0, 80)}`);
  const type = (msg as { type?: unknown }).type;
  // An unknown type is ignored (forward compatibility), but a frame with no type at all is no
  // message: ignored, the batch it answers would wait for batch.deadline (10 minutes by default).
  if (typeof type !== 'string') throw new MalformedMessageError(`a frame has no "type" (a string): ${text.slice(0, 80)}`);
  if (type === 'result_lines' || type === 'result_array') {
    // Its outputs follow the header line: without them it cannot be read (and must not reach the scheduler as a result).
    throw new MalformedMessageError(`${type} ${JSON.stringify((msg as { id?: unknown }).id)}: no outputs after the header (the header ends with a newline, then ${type === 'result_lines' ? 'one line per output' : 'the outputs as one JSON array'}): ${text.slice(0, 80)}`);
  }
  return msg as WorkerMessage;
}

function arrayOutputs(bytes: Buffer, from: number, header: ResultArrayHeader, ascii: boolean): OutputSlices {
  // Sized up front by the announced count, but never beyond what the bytes can hold (a value
  // and a comma each), so a wrong count cannot make a huge array.
  const room = ((bytes.length - from) >> 1) + 1;
  const outputs = splitJsonArrayBytes(bytes, from, Math.max(0, Math.min(header.count | 0, room)), ascii);
  if (outputs === undefined) throw new MalformedMessageError(`result_array ${header.id}: what follows the header is not a JSON array: ${quote(bytes, from)}`);
  if (outputs.length !== header.count) {
    throw new MalformedMessageError(`result_array ${header.id} announces ${header.count} outputs but carries ${outputs.length}`);
  }
  // The split checked the structure (strings closed, brackets paired, one string, object or
  // array per element); a bare number or literal must also be one, or a bad one (NaN, a word,
  // 01, 1e) would be written into the output file as it is, unless a strict encoder wrote them
  // (the SDKs': the check cost the main thread 17-24 ns an answer of small ints on an H100 host).
  // What is inside a string, an object or an array is left unchecked: a full check doubled the
  // split's cost per output.
  const bad = header.strict === true ? -1 : firstBareValueNotJson(bytes, outputs.bounds);
  if (bad !== -1) throw notJson('result_array', header.id, bad, outputs.length, bytes, outputs.bounds[2 * bad], outputs.bounds[2 * bad + 1]);
  return outputs;
}

/**
 * The first element (by its `bounds`) that is a bare number or literal but not a whole one, or
 * -1. A string, object or array is passed at once (the split checked that it is the whole element
 * and its structure); any other element goes through the JSONL reader's value check, which holds
 * JSON's grammar for numbers and `true`, `false`, `null`. Its own function, not inlined in the
 * decode loop: there, V8 optimised the loop well in some processes and badly in others (+3…30 ns
 * an output on the dev VM).
 */
function firstBareValueNotJson(bytes: Buffer, bounds: Uint32Array): number {
  for (let k = 0; k < bounds.length; k += 2) {
    const start = bounds[k];
    const end = bounds[k + 1];
    const c = bytes[start];
    if (c === 0x7b || c === 0x5b || c === 0x22 || isWholeInteger(bytes, start, end)) continue;
    if (!isPlainJsonLine(bytes, start, end)) return k >> 1;
  }
  return -1;
}

/**
 * Whether `bytes[start, end)` is an integer as JSON writes one (`0`, `-7`, `1023`): the commonest
 * bare element (class ids, counts: the MLP's answers), checked here in a few instructions per
 * digit where the whole grammar cost the main thread ~40 ns an output on the GPU host.
 */
function isWholeInteger(bytes: Buffer, start: number, end: number): boolean {
  let i = bytes[start] === 0x2d ? start + 1 : start;
  const first = bytes[i];
  if (first === 0x30) return i + 1 === end;
  if (first < 0x31 || first > 0x39) return false;
  for (i++; i < end; i++) {
    const c = bytes[i];
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

function lineOutputs(bytes: Buffer, from: number, header: ResultLinesHeader, ascii: boolean): OutputSlices {
  const count = header.count;
  // A count of 0 has no lines at all; otherwise the lines are what the newlines cut (a wrong
  // count is refused below, after counting them, never trusted to size anything).
  let lines = 0;
  if (count !== 0) {
    lines = 1;
    for (let i = bytes.indexOf(NEWLINE, from); i !== -1; i = bytes.indexOf(NEWLINE, i + 1)) lines++;
  }
  if (lines !== count) throw new MalformedMessageError(`result_lines ${header.id} announces ${count} outputs but carries ${lines} lines`);
  const bounds = new Uint32Array(2 * lines);
  let at = from;
  for (let k = 0; k < lines; k++) {
    const nl = bytes.indexOf(NEWLINE, at);
    const end = nl === -1 ? bytes.length : nl;
    bounds[2 * k] = at;
    bounds[2 * k + 1] = end;
    at = end + 1;
  }
  // Each line must be one JSON value: a line written by hand (an empty one, NaN, a word) would
  // otherwise go into the output file as it is. The quick check passes the SDKs' lines; what it
  // does not vouch for (deep nesting) is parsed.
  for (let k = 0; k < lines; k++) {
    const start = bounds[2 * k];
    const end = bounds[2 * k + 1];
    if (!isPlainJsonLine(bytes, start, end) && tryParse(bytes.toString('utf8', start, end)) === undefined) {
      throw notJson('result_lines', header.id, k, lines, bytes, start, end);
    }
  }
  return new OutputSlices(bytes, bounds, ascii);
}

function notJson(form: string, id: number, k: number, count: number, bytes: Buffer, start: number, end: number): MalformedMessageError {
  return new MalformedMessageError(`${form} ${id}: output ${k + 1} of ${count} is not one JSON value: ${JSON.stringify(bytes.toString('utf8', start, Math.min(end, start + 320)).slice(0, 80))}`);
}

/** The first 80 characters from `from`, for an error message (80 characters take at most 320 bytes). */
function quote(bytes: Buffer, from: number): string {
  return bytes.toString('utf8', from, Math.min(bytes.length, from + 320)).slice(0, 80);
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
