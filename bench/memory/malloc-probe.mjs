// Preloaded into gpupool's Node process (`NODE_OPTIONS="--import $PWD/bench/memory/malloc-probe.mjs"`):
// every 0.5 s and at exit, one JSON line with Node's own figures (RSS, JS heap, ArrayBuffers) and
// glibc's malloc figures (mallinfo2 through koffi: the arenas, what is in use and free in them,
// and the chunks malloc took with mmap), so that RSS outside the JS heap can be told apart.
// MEMLOG names the output file (default /tmp/gpupool-malloc-probe.jsonl).
import fs from 'node:fs';
import koffi from 'koffi';

const libc = koffi.load('libc.so.6');
const Mallinfo2 = koffi.struct('mallinfo2', {
  arena: 'size_t', ordblks: 'size_t', smblks: 'size_t', hblks: 'size_t', hblkhd: 'size_t',
  usmblks: 'size_t', fsmblks: 'size_t', uordblks: 'size_t', fordblks: 'size_t', keepcost: 'size_t',
});
const mallinfo2 = libc.func('mallinfo2', Mallinfo2, []);
const fd = fs.openSync(process.env.MEMLOG || '/tmp/gpupool-malloc-probe.jsonl', 'w');
const t0 = Date.now();
const mib = (x) => +(Number(x) / 1048576).toFixed(1);

function sample() {
  const m = mallinfo2();
  const u = process.memoryUsage();
  fs.writeSync(fd, JSON.stringify({
    t: (Date.now() - t0) / 1000, rss: mib(u.rss), heap: mib(u.heapTotal), ab: mib(u.arrayBuffers),
    arena: mib(m.arena), inuse: mib(m.uordblks), free: mib(m.fordblks), ordblks: Number(m.ordblks),
    mmapped: mib(m.hblkhd), hblks: Number(m.hblks), keep: mib(m.keepcost),
  }) + '\n');
}
setInterval(sample, 500).unref();
process.on('exit', sample);
