/**
 * Loaded before every test file (`npm run test:unit`, and by the shared helpers for a file run
 * alone): takes out of the environment what the
 * machine running the tests may have set and gpupool reads, so that a result depends on the
 * code, not on the runner. A GPU image's `CUDA_VISIBLE_DEVICES` would hide the fake cards the
 * device tests describe; a `GPUPOOL_TOKEN` or `GPUPOOL_URL` would change what `serve` and its
 * clients do. Kept: the thread switches (`GPUPOOL_READER_THREAD`, `GPUPOOL_WRITER_THREAD`), so
 * the suite can be run with the threads forced on or off, the dashboard test's knobs, and
 * `GPUPOOL_TEST_*`.
 */
const VISIBILITY = ['CUDA_VISIBLE_DEVICES', 'CUDA_DEVICE_ORDER', 'ROCR_VISIBLE_DEVICES', 'HIP_VISIBLE_DEVICES', 'ASCEND_RT_VISIBLE_DEVICES'];
// The thread switches, and the dashboard test's own knobs (a Chromium elsewhere; a new screenshot).
const KEPT = new Set(['GPUPOOL_READER_THREAD', 'GPUPOOL_WRITER_THREAD', 'GPUPOOL_CHROMIUM', 'GPUPOOL_UPDATE_SCREENSHOT']);

for (const name of Object.keys(process.env)) {
  const gpupool = name.startsWith('GPUPOOL_') && !name.startsWith('GPUPOOL_TEST_') && !KEPT.has(name);
  if (gpupool || VISIBILITY.includes(name)) delete process.env[name];
}
