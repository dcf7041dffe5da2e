// Writes N small JSONL items for the demo: node scripts/make-demo-items.mjs FILE N
import fs from 'node:fs';
import path from 'node:path';

const [file, n] = [process.argv[2], Number(process.argv[3] ?? 20000)];
fs.mkdirSync(path.dirname(file), { recursive: true });
const lines = Array.from({ length: n }, (_, i) => JSON.stringify({ n: i, text: `item ${i}` }));
fs.writeFileSync(file, `${lines.join('\n')}\n`);
