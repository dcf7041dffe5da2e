// Bundles the CLI into dist-bundle/ for machines without a registry (the GPU host): one
// ESM file plus the native addons it loads at run time (better-sqlite3, koffi for x64 Linux
// only) and the Python SDK. Used by ../shared/gpu-host/pack.sh (`npm run bundle`).
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';

const out = 'dist-bundle';
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });

await build({
  entryPoints: ['src/cli/main.ts'],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  outfile: `${out}/gpupool.mjs`,
  external: ['better-sqlite3', 'koffi'],
  // Bundled CommonJS dependencies call require(); give ESM one.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'warning',
});

// The JSONL reader and writer threads' entries, where the CLI looks for them: beside the bundle
// (start-module-thread.ts).
for (const entry of ['src/run/sources/jsonl-reader-thread.ts', 'src/run/writer/jsonl-writer-thread.ts']) {
  await build({
    entryPoints: [entry], bundle: true, platform: 'node', target: 'node20', format: 'esm',
    outfile: `${out}/${path.basename(entry, '.ts')}.js`, logLevel: 'warning',
  });
}

const copy = (from, to, filter) => fs.cpSync(from, path.join(out, to), { recursive: true, filter });
/** A bench script bundled with gpupool's code, the native addons left to the bundle's node_modules. */
const buildBench = (entry, outfile) =>
  build({
    entryPoints: [entry], bundle: true, platform: 'node', target: 'node20', format: 'esm', outfile: `${out}/${outfile}`,
    external: ['better-sqlite3', 'koffi'], banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" }, logLevel: 'warning',
  });
const nm = 'node_modules';
for (const pkg of ['better-sqlite3', 'bindings', 'file-uri-to-path']) {
  copy(`${nm}/${pkg}`, `node_modules/${pkg}`, (src) => !/\/(deps|src|docs)\b|\/obj(\.target)?\b|test_extension/.test(src));
}
copy(`${nm}/koffi`, 'node_modules/koffi', (src) => !/build\/koffi\/(?!linux_x64)|\/(src|vendor|doc)\b/.test(src));
copy('sdk/python', 'sdk/python', (src) => !/__pycache__|\/tests\b/.test(src));
copy('examples/noop', 'examples/noop');
if (fs.existsSync('examples/torch')) copy('examples/torch', 'examples/torch');
if (fs.existsSync('bench/gpu')) copy('bench/gpu', 'bench/gpu');
// The one-card pass's producer step, a check that runs on CPU too.
copy('bench/run/producer-loop-check.sh', 'bench/run/producer-loop-check.sh');
// `kind: http` replicas on the GPU host (bench/gpu/http-replicas.sh), without `gpupool serve`.
if (fs.existsSync('bench/replicas/replica-bench.ts')) {
  copy('examples/http-server', 'examples/http-server');
  await buildBench('bench/replicas/replica-bench.ts', 'replica-bench.mjs');
}
// The dispatch path on the GPU host's many cores (bench/dispatch/): the bench and the Python trace.
for (const name of ['dispatch-bench', 'latency-trace']) await buildBench(`bench/dispatch/${name}.ts`, `bench/dispatch/${name}.mjs`);
copy('bench/dispatch/timed_noop_worker.py', 'bench/dispatch/timed_noop_worker.py');
// `gpupool serve`: the dashboard's static files, and the load generator (bench/gpu/dynamic-batching.sh).
copy('src/serve/dashboard', 'src/serve/dashboard');
await build({ entryPoints: ['bench/serve/load-cli.ts'], bundle: true, platform: 'node', target: 'node20', format: 'esm', outfile: `${out}/bench/serve-load.mjs`, logLevel: 'warning' });
fs.writeFileSync(path.join(out, 'package.json'), JSON.stringify({ name: 'gpupool-bundle', type: 'module', private: true }, null, 2));
// `gpupool/worker` for TypeScript/JS workers inside the bundle.
await build({ entryPoints: ['src/sdk/worker.ts'], bundle: true, platform: 'node', target: 'node20', format: 'esm', outfile: `${out}/node_modules/gpupool/worker.mjs`, logLevel: 'warning' });
fs.writeFileSync(path.join(out, 'node_modules/gpupool/package.json'), JSON.stringify({ name: 'gpupool', type: 'module', exports: { './worker': './worker.mjs' } }));
