// The TypeScript SDK's no-op worker, noting when each batch reaches predict and each V8 garbage
// collection of this process (epoch ms), written to $MARKS_OUT at exit: for latency-trace.ts.
import fs from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { serve } from '../../dist/sdk/worker.js';

const marks = [];
const gcs = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcs.push([performance.timeOrigin + e.startTime, e.duration]);
}).observe({ entryTypes: ['gc'] });
process.on('exit', () => fs.writeFileSync(process.env.MARKS_OUT, JSON.stringify({ marks, gcs })));
process.on('SIGTERM', () => process.exit(0));

serve({
  framework: 'none',
  predict: (batch) => {
    marks.push(performance.timeOrigin + performance.now());
    return batch;
  },
});
