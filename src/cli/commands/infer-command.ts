import fs from 'node:fs';
import type { Command } from 'commander';
import { parseDuration } from '../../config/index.js';
import { GpupoolError } from '../../errors/index.js';
import { checkBearerToken } from '../../serve/bearer-token.js';
import { chooseInferModel, inputsPerRequest } from './infer-target.js';
import { ServerClient } from './server-client.js';

interface InferFlags {
  url: string;
  model?: string;
  token?: string;
  input?: string;
  timeout?: string;
}

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
      const url = serverUrl(flags.url ?? process.env.GPUPOOL_URL ?? 'http://127.0.0.1:8000');
      const token = checkBearerToken(flags.token ?? process.env.GPUPOOL_TOKEN);
      const inputs = [...args.map(parseArg), ...(flags.input ? readJsonl(flags.input) : [])];
      if (inputs.length === 0) throw new GpupoolError('GPUPOOL_E_USAGE', 'give at least one INPUT (a JSON value) or -i FILE');
      let timeoutMs: number | undefined;
      if (flags.timeout !== undefined) {
        timeoutMs = parseDuration(flags.timeout);
        if (timeoutMs === undefined || timeoutMs < 1) throw new GpupoolError('GPUPOOL_E_USAGE', `--timeout must be a duration like "30s", got "${flags.timeout}"`);
      }
      const client = new ServerClient(url, token, timeoutMs);
      const model = chooseInferModel(await client.models(), flags.model, url);
      const perRequest = inputsPerRequest(model, await client.maxInputsPerRequest());
      let failed = 0;
      for (let i = 0; i < inputs.length; i += perRequest) {
        const outputs = await client.infer(model.name, inputs.slice(i, i + perRequest));
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

/** The server's address without trailing slashes; anything but an http(s) URL is a usage error. */
function serverUrl(given: string): string {
  let url: URL | undefined;
  try {
    url = new URL(given);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
    throw new GpupoolError('GPUPOOL_E_USAGE', `--url (or GPUPOOL_URL) must be an http:// or https:// URL, like http://127.0.0.1:8000; got "${given}"`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new GpupoolError('GPUPOOL_E_USAGE', `--url (or GPUPOOL_URL) holds a user or password, which gpupool serve does not read: give its bearer token with --token (or GPUPOOL_TOKEN)`);
  }
  if (url.search !== '' || url.hash !== '') {
    throw new GpupoolError('GPUPOOL_E_USAGE', `--url (or GPUPOOL_URL) must be the server's address, with no query or fragment (routes are added after it); got "${given}"`);
  }
  return given.replace(/\/+$/, '');
}

