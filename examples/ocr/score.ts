// Character accuracy of OCR output against the sample pages' truth files.
//
//   accuracy = 1 − (Σ edit distance) / (Σ truth length), over all pages,
//
// after whitespace normalisation on both sides (every run of whitespace becomes one space, ends
// trimmed); lengths and distances count Unicode code points. A page with no output counts as
// empty (every truth character an error).
//
// CLI: node --import tsx examples/ocr/score.ts OUTPUT.jsonl [PAGES_DIR]
// Each JSONL line is one result; the page is found from `input.path`, `item.path`, `path` or
// `id` (gpupool run names a file item by its path), the text from `output.text`, `result.text`
// or `text`. Pages are matched by file name (NNN.png ↔ NNN.txt).
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function normalizeText(s: string): string {
  return s.replace(/\s+/gu, ' ').trim();
}

/** Levenshtein distance over code points (two-row dynamic programme). */
export function editDistance(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  if (x.length === 0) return y.length;
  if (y.length === 0) return x.length;
  let prev = new Uint32Array(y.length + 1);
  let cur = new Uint32Array(y.length + 1);
  for (let j = 0; j <= y.length; j++) prev[j] = j;
  for (let i = 1; i <= x.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= y.length; j++) {
      const sub = prev[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1);
      cur[j] = Math.min(sub, prev[j] + 1, cur[j - 1] + 1);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[y.length];
}

export interface PageScore {
  page: string;
  truthChars: number;
  errors: number;
  truth: string;
  got: string | null;
}

export interface Score {
  accuracy: number;
  pages: number;
  missing: number;
  truthChars: number;
  errors: number;
  perPage: PageScore[];
}

/**
 * Score recognised texts (keyed by page name, e.g. "001" or "001.png") against `NNN.txt` truth
 * files in pagesDir.
 */
export function scoreTexts(texts: Map<string, string>, pagesDir: string): Score {
  const byName = new Map<string, string>();
  for (const [k, v] of texts) byName.set(path.basename(k).replace(/\.[^.]+$/, ''), v);
  const perPage: PageScore[] = [];
  let truthChars = 0;
  let errors = 0;
  let missing = 0;
  const truthFiles = readdirSync(pagesDir).filter((f) => f.endsWith('.txt')).sort();
  if (truthFiles.length === 0) throw new Error(`no truth files (*.txt) in ${pagesDir}`);
  for (const f of truthFiles) {
    const page = f.slice(0, -4);
    const truth = normalizeText(readFileSync(path.join(pagesDir, f), 'utf8'));
    const raw = byName.get(page);
    if (raw === undefined) missing++;
    const got = raw === undefined ? null : normalizeText(raw);
    const e = editDistance(truth, got ?? '');
    const n = Array.from(truth).length;
    perPage.push({ page, truthChars: n, errors: e, truth, got });
    truthChars += n;
    errors += e;
  }
  return { accuracy: truthChars ? 1 - errors / truthChars : 0, pages: perPage.length, missing, truthChars, errors, perPage };
}

/** Read result lines (JSONL) into page → text. Lines without a page path or text are skipped. */
export function readResults(jsonl: string): Map<string, string> {
  const texts = new Map<string, string>();
  for (const line of jsonl.split('\n')) {
    if (line.trim() === '') continue;
    const rec = JSON.parse(line) as Record<string, unknown>;
    const p = pick(rec, ['input', 'path'], ['item', 'path'], ['path'], ['id']);
    const t = pick(rec, ['output', 'text'], ['result', 'text'], ['text']);
    if (typeof p === 'string' && typeof t === 'string') texts.set(p, t);
  }
  return texts;
}

function pick(rec: Record<string, unknown>, ...paths: string[][]): unknown {
  for (const keys of paths) {
    let v: unknown = rec;
    for (const k of keys) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
    if (v !== undefined) return v;
  }
  return undefined;
}

export function scoreFile(jsonlFile: string, pagesDir: string): Score {
  return scoreTexts(readResults(readFileSync(jsonlFile, 'utf8')), pagesDir);
}

export function formatScore(s: Score, worst = 5): string {
  const out = [
    `character accuracy ${(s.accuracy * 100).toFixed(2)}% ` +
      `(${s.errors} errors / ${s.truthChars} characters, ${s.pages} pages${s.missing ? `, ${s.missing} without output` : ''})`,
  ];
  const bad = s.perPage.filter((p) => p.errors > 0).sort((a, b) => b.errors / b.truthChars - a.errors / a.truthChars);
  for (const p of bad.slice(0, worst)) {
    out.push(`  ${p.page}: ${p.errors}/${p.truthChars}`);
    out.push(`    truth: ${p.truth}`);
    out.push(`    got:   ${p.got ?? '(no output)'}`);
  }
  return out.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [jsonl, pagesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'pages')] = process.argv.slice(2);
  if (!jsonl) {
    console.error('usage: score.ts OUTPUT.jsonl [PAGES_DIR]');
    process.exit(2);
  }
  console.log(formatScore(scoreFile(jsonl, pagesDir), 10));
}
