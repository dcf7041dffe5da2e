/**
 * The load generator as a command, for hosts without tsx (the GPU host runs the bundled
 * `bench/serve-load.mjs` that `npm run bundle` makes from this file):
 *   node bench/serve-load.mjs --url http://127.0.0.1:8000 --path /v1/models/m/infer \
 *     --body '{"inputs":[1]}' --connections 64 --seconds 20 --warmup 5 [--rate 10000] [--token T]
 * Prints the LoadResult as JSON.
 */
import { parseArgs } from 'node:util';
import { runLoad } from './http-load.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    path: { type: 'string' },
    body: { type: 'string' },
    connections: { type: 'string', default: '64' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    rate: { type: 'string' },
    token: { type: 'string' },
  },
});
if (!values.url || !values.path || values.body === undefined) {
  process.stderr.write('usage: serve-load --url URL --path PATH --body JSON [--connections N] [--seconds S] [--warmup S] [--rate R] [--token T]\n');
  process.exit(2);
}
const url = new URL(values.url);
const result = await runLoad({
  host: url.hostname,
  port: Number(url.port),
  path: values.path,
  body: values.body,
  connections: Number(values.connections),
  durationMs: Number(values.seconds) * 1000,
  warmupMs: Number(values.warmup) * 1000,
  rate: values.rate === undefined ? undefined : Number(values.rate),
  token: values.token,
});
process.stdout.write(`${JSON.stringify(result)}\n`);
