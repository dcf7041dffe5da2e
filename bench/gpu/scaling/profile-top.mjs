// The functions a V8 CPU profile (node --cpu-prof) spent most time in, self time first.
// Usage: node bench/gpu/scaling/profile-top.mjs FILE.cpuprofile [lines=25]
import fs from 'node:fs';

const profile = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const lines = Number(process.argv[3] ?? 25);
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const byNode = new Map();
let total = 0;
profile.samples.forEach((id, i) => {
  byNode.set(id, (byNode.get(id) ?? 0) + profile.timeDeltas[i]);
  total += profile.timeDeltas[i];
});
const byFunction = new Map();
for (const [id, us] of byNode) {
  const { functionName, url, lineNumber } = nodes.get(id).callFrame;
  const key = `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + us);
}
console.log(`total ${(total / 1000).toFixed(0)} ms of samples`);
for (const [key, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, lines)) {
  console.log(`${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${key}`);
}
