/**
 * What travels through Redis: a chunk of inputs (a BullMQ job's data) one way, and the
 * chunk's results (one stream entry) the other. Inputs and outputs stay JSON text end to
 * end: outputs are concatenated raw and cut by length, so neither side parses them.
 */

/** One input: its seq (the journal's key), its id, its JSON text and its cost. */
export type ChunkItem = readonly [seq: number, id: string | number, json: string, cost: number];

/** A BullMQ job's data. */
export interface ChunkData {
  readonly items: readonly ChunkItem[];
  /** How often this one-item chunk was lost with its agent already: it fails for good at 2. */
  readonly lost?: number;
}

export interface DoneResult {
  readonly seq: number;
  readonly id: string | number;
  /** `agent/device`, e.g. `gpu-3/cuda:0`. */
  readonly device: string;
  readonly outputJson: string;
}

export interface FailedResult {
  readonly seq: number;
  readonly id: string | number;
  readonly device: string | undefined;
  readonly code: string;
  readonly message: string;
}

export interface ChunkResult {
  readonly chunk: string;
  readonly agent: string;
  readonly done: readonly DoneResult[];
  readonly failed: readonly FailedResult[];
}

interface ResultMeta {
  c: string;
  a: string;
  /** Device names, referred to by index below (-1: none). */
  v: string[];
  /** [seq, id, device index, length of the output's JSON text]. */
  d: [number, string | number, number, number][];
  f: [number, string | number, number, string, string][];
}

/** The stream entry's field/value pairs: `m` (everything but outputs) and `o` (outputs, concatenated). */
export function encodeChunkResult(r: ChunkResult): [string, string, string, string] {
  const devices = new Map<string, number>();
  const deviceIndex = (d: string | undefined): number => {
    if (d === undefined) return -1;
    let i = devices.get(d);
    if (i === undefined) devices.set(d, (i = devices.size));
    return i;
  };
  const meta: ResultMeta = {
    c: r.chunk,
    a: r.agent,
    v: [],
    d: r.done.map((x) => [x.seq, x.id, deviceIndex(x.device), x.outputJson.length]),
    f: r.failed.map((x) => [x.seq, x.id, deviceIndex(x.device), x.code, x.message]),
  };
  meta.v = [...devices.keys()];
  return ['m', JSON.stringify(meta), 'o', r.done.map((x) => x.outputJson).join('')];
}

/** Reads a stream entry's fields back; throws on an entry this version did not write. */
export function decodeChunkResult(fields: readonly string[]): ChunkResult {
  const get = (name: string): string | undefined => {
    for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
    return undefined;
  };
  const metaText = get('m');
  const outputs = get('o') ?? '';
  if (metaText === undefined) throw new Error('a result entry without its "m" field');
  const meta = JSON.parse(metaText) as ResultMeta;
  if (typeof meta.c !== 'string' || !Array.isArray(meta.d) || !Array.isArray(meta.f) || !Array.isArray(meta.v)) {
    throw new Error(`a result entry of an unknown shape: ${metaText.slice(0, 200)}`);
  }
  let at = 0;
  const done: DoneResult[] = meta.d.map(([seq, id, dev, len]) => {
    const outputJson = outputs.slice(at, at + len);
    at += len;
    return { seq, id, device: meta.v[dev], outputJson };
  });
  if (at !== outputs.length) throw new Error(`a result entry whose outputs are ${outputs.length} characters where its index says ${at}`);
  const failed: FailedResult[] = meta.f.map(([seq, id, dev, code, message]) => ({ seq, id, device: dev < 0 ? undefined : meta.v[dev], code, message }));
  return { chunk: meta.c, agent: meta.a, done, failed };
}
