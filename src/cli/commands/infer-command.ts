import fs from 'node:fs';
import type { Command } from 'commander';
import { parseDuration } from '../../config/index.js';
import { ERROR_CODES, GpupoolError, type ErrorCode } from '../../errors/index.js';

interface InferFlags {
  url: string;
  model?: string;
  token?: string;
  input?: string;
  timeout?: string;
}

/** Inputs per request: well under the server's default --max-inputs (4096). */
const CHUNK = 1024;

/**
 * `gpupool infer`: a one-off call to a running `gpupool serve`, so a command-line call never
 * loads the model again. Each INPUT is a JSON value (text that is not JSON is sent as a
 * string); `-i FILE` adds one input per JSONL line (`-` for stdin). Prints one line per
 * input: its output, or `{"error": …}` for an input that failed (exit status 1).
 */
export function registerInferCommand(program: Command): void {
  program
    .command('infer')
    .description('run inputs through a running `gpupool serve` (the model stays loaded there)')
    .argument('[inputs...]', 'inputs, each a JSON value (other text is sent as a string)')
    .option('--url <url>', 'the server (default: $GPUPOOL_URL or http://127.0.0.1:8000)')
    .option('-m, --model <name>', 'model to run (may be left out when the server runs one)')
    .option('--token <token>', 'bearer token (default: $GPUPOOL_TOKEN)')
    .option('-i, --input <file>', 'also one input per line of this JSONL file (- for stdin)')
    .option('--timeout <duration>', 'deadline of each request, e.g. 30s')
    .action(async (args: string[], flags: InferFlags) => {
      const url = (flags.url ?? process.env.GPUPOOL_URL ?? 'http://127.0.0.1:8000').replace(/\/+$/, '');
      const token = flags.token ?? process.env.GPUPOOL_TOKEN;
      const inputs = [...args.map(parseArg), ...(flags.input ? readJsonl(flags.input) : [])];
      if (inputs.length === 0) throw new GpupoolError('GPUPOOL_E_USAGE', 'give at least one INPUT (a JSON value) or -i FILE');
      let timeoutMs: number | undefined;
      if (flags.timeout !== undefined) {
        timeoutMs = parseDuration(flags.timeout);
        if (timeoutMs === undefined || timeoutMs < 1) throw new GpupoolError('GPUPOOL_E_USAGE', `--timeout must be a duration like "30s", got "${flags.timeout}"`);
      }
      const client = new ServerClient(url, token);
      const model = flags.model ?? (await client.onlyModel());
      let failed = 0;
      for (let i = 0; i < inputs.length; i += CHUNK) {
        const outputs = await client.infer(model, inputs.slice(i, i + CHUNK), timeoutMs);
        let text = '';
        for (const o of outputs) {
          if (isItemError(o)) failed++;
          text += `${JSON.stringify(o)}\n`;
        }
        process.stdout.write(text);
      }
      if (failed > 0) {
        process.stderr.write(`gpupool: ${failed} of ${inputs.length} inputs failed (their lines say why)\n`);
        process.exitCode = 1;
      }
    });
}

function parseArg(arg: string): unknown {
  try {
    return JSON.parse(arg);
  } catch {
    return arg;
  }
}

function readJsonl(file: string): unknown[] {
  const text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  return text.split('\n').flatMap((line, i) => {
    if (line.trim() === '') return [];
    try {
      return [JSON.parse(line)];
    } catch (err) {
      throw new GpupoolError('GPUPOOL_E_INPUT_PARSE', `line ${i + 1} of ${file} is not valid JSON (${(err as Error).message}): ${line.slice(0, 80)}`);
    }
  });
}

function isItemError(o: unknown): boolean {
  return o !== null && typeof o === 'object' && 'error' in o && Object.keys(o).length === 1;
}

/** The server's HTTP API, with its error bodies turned back into registry errors. */
class ServerClient {
  constructor(
    private readonly url: string,
    private readonly token: string | undefined,
  ) {}

  async onlyModel(): Promise<string> {
    const models = (await this.request('GET', '/v1/models')) as { name: string; kind: string }[];
    if (models.length === 1) return models[0].name;
    throw new GpupoolError('GPUPOOL_E_MODEL_REQUIRED', `the server at ${this.url} runs several models (${models.map((m) => m.name).join(', ')}): choose one with -m`);
  }

  async infer(model: string, inputs: unknown[], timeoutMs?: number): Promise<unknown[]> {
    const body = { inputs, ...(timeoutMs ? { timeout_ms: timeoutMs } : {}) };
    const answer = (await this.request('POST', `/v1/models/${encodeURIComponent(model)}/infer`, body, true)) as { outputs: unknown[] };
    return answer.outputs;
  }

  /** `keepOutputs`: an error body that carries per-input outputs (every input failed) is returned, not thrown. */
  private async request(method: string, route: string, body?: unknown, keepOutputs = false): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(this.url + route, {
        method,
        headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new GpupoolError('GPUPOOL_E_SERVER_UNREACHABLE', `could not reach the server at ${this.url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new GpupoolError('GPUPOOL_E_SERVER_UNREACHABLE', `${this.url}${route} answered ${res.status} with a body that is not JSON; is it a gpupool server? ${text.slice(0, 120)}`);
    }
    if (res.ok) return json;
    const e = json as { code?: string; message?: string; outputs?: unknown[] };
    if (keepOutputs && Array.isArray(e.outputs)) return { outputs: e.outputs };
    const code = (e.code && e.code in ERROR_CODES ? e.code : 'GPUPOOL_E_INTERNAL') as ErrorCode;
    throw new GpupoolError(code, `${e.message ?? `HTTP ${res.status}`} (from ${this.url})`);
  }
}
