// isPlainJsonLine against JSON.parse: it must never pass a line JSON.parse refuses (the fast path
// would send it to a worker unchecked), and it should pass the valid lines it was built for. It
// reads a line's UTF-8 bytes; JSON.parse gets the text those bytes decode to.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPlainJsonLine, plainJsonLineEnd } from '../../src/json/plain-json-line.js';

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** A seeded generator of whole numbers below `n`, so a failing fuzz case names a line that can be replayed. */
function seededRandom(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return state % n;
  };
}

/** The validator on `text`'s UTF-8 bytes, and the text they decode to (a lone surrogate becomes U+FFFD). */
function check(text: string): boolean {
  const bytes = Buffer.from(text, 'utf8');
  return isPlainJsonLine(bytes, 0, bytes.length);
}

const bytes = (text: string) => Buffer.from(text, 'latin1');

test('valid lines of every JSON type pass, with spaces, tabs and a CR around them', () => {
  for (const line of [
    '{"seed": 1234567}',
    '{"a":[1,-2.5e+10,0.25,-0,1E3],"b":{"c":null,"d":true,"e":false},"s":"\\u00e9\\n\\"\\\\\\/\\b\\f\\r\\t"}',
    '[]',
    '{}',
    '"just a string"',
    '42',
    'true',
    'null',
    '  {"padded": "yes"} \t\r',
    '{"text":"Ünïcødé 汉字 and a lone \ud800 surrogate"}',
    '[[[[[[[[[[1]]]]]]]]]]',
  ]) {
    assert.ok(parses(line), line);
    assert.equal(check(line), true, line);
  }
});

test('invalid lines are refused', () => {
  for (const line of [
    '',
    '   ',
    '{"a":1',
    '{"a":1}}',
    '{"a":1} x',
    '{a:1}',
    "{'a':1}",
    '{"a":01}',
    '{"a":1.}',
    '{"a":.5}',
    '{"a":1e}',
    '{"a":+1}',
    '{"a":-}',
    '{"a":NaN}',
    '{"a":Infinity}',
    '{"a":undefined}',
    '{"a":tru}',
    '{"a":nulls}',
    '[1,]',
    '{"a":1,}',
    '[1 2]',
    '"unterminated',
    '"bad escape \\x"',
    '"short \\u12"',
    '"raw\ttab"',
    '"\u0001"',
    '\u00a0{"a":1}',
    '{"a":1}{"b":2}',
    '1 2',
  ]) {
    assert.equal(parses(line), false, `JSON.parse accepts ${JSON.stringify(line)}: not a case for this list`);
    assert.equal(check(line), false, line);
  }
});

test('only [start, end) is read: the surrounding text does not matter', () => {
  const text = 'garbage{"a":[1,2]}\n{"b":';
  assert.equal(isPlainJsonLine(bytes(text), 7, 18), true);
  assert.equal(isPlainJsonLine(bytes(text), 7, 17), false); // cut inside the value
  assert.equal(isPlainJsonLine(bytes('xtruex'), 1, 5), true);
  assert.equal(isPlainJsonLine(bytes('xtrue'), 1, 4), false); // "tru" is not true
});

test('nesting deeper than its limit is left to JSON.parse (a "not sure", never a yes)', () => {
  const deep = '['.repeat(40) + ']'.repeat(40);
  assert.ok(parses(deep));
  assert.equal(check(deep), false);
});

test('fuzz: random token soups and mutated valid lines are never passed when JSON.parse refuses them', () => {
  const rand = seededRandom(0x9e3779b9);
  const tokens = ['{', '}', '[', ']', ',', ':', '"', '\\', 'a', '1', '0', '-', '.', 'e', 'E', '+', ' ', '\t', '\r', 'true', 'null', 'fals', '"k"', '\\u00', 'f', '\u0000', '\u001f', 'é', '\ud83d'];
  const valid = ['{"seed":12,"x":[1.5,-2e3,"s\\n"],"o":{"t":true,"n":null}}', '[0,-0.1,1e-9,"\\u0041"]', '"a\\"b"'];
  let passed = 0;
  for (let n = 0; n < 60_000; n++) {
    let line: string;
    if (n % 2 === 0) {
      line = '';
      const len = 1 + rand(12);
      for (let k = 0; k < len; k++) line += tokens[rand(tokens.length)];
    } else {
      const base = valid[rand(valid.length)];
      const at = rand(base.length + 1);
      const op = rand(3);
      const tok = tokens[rand(tokens.length)];
      line = op === 0 ? base.slice(0, at) + tok + base.slice(at) : op === 1 ? base.slice(0, at) + base.slice(at + 1) : base.slice(0, at) + tok + base.slice(at + 1);
    }
    const ok = parses(line);
    const plain = check(line);
    if (plain) {
      passed++;
      assert.ok(ok, `passed but JSON.parse refuses it: ${JSON.stringify(line)}`);
    }
    // Without knowing where the line ends, the same answer: its newline, or -1 (and -1 when
    // the newline has not come yet).
    const bytes = Buffer.from(line, 'utf8');
    const followed = Buffer.concat([bytes, Buffer.from('\n{"next":1}\n')]);
    assert.equal(plainJsonLineEnd(followed, 0, followed.length), plain ? bytes.length : -1, JSON.stringify(line));
    assert.equal(plainJsonLineEnd(bytes, 0, bytes.length), -1, JSON.stringify(line));
  }
  assert.ok(passed > 1000, `the fuzz should reach valid lines too (passed ${passed})`);
});

test('fuzz on raw bytes: invalid and truncated UTF-8 inside and outside strings is never passed when the decoded line is refused', () => {
  const rand = seededRandom(0x2545f491);
  // Raw bytes a file can hold but a JS string cannot say: lone continuation bytes, a cut
  // two- or three-byte sequence, bytes never valid in UTF-8, an overlong encoding.
  const raw = [[0x80], [0xbf], [0xc3], [0xe6, 0xb1], [0xff], [0xfe], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf0, 0x9f, 0x98, 0x80], [0xc3, 0xa9]];
  const text = ['{', '}', '[', ']', ',', ':', '"', '\\', 'a', '1', '"k"', ' ', 'null', '\\u00e9'].map((t) => [...Buffer.from(t)]);
  const tokens = [...raw, ...text];
  const valid = ['{"text":"abc","n":1}', '["x","y"]', '"s"'].map((t) => [...Buffer.from(t)]);
  let passed = 0;
  for (let n = 0; n < 40_000; n++) {
    let line: number[];
    if (n % 2 === 0) {
      line = [];
      const len = 1 + rand(10);
      for (let k = 0; k < len; k++) line.push(...tokens[rand(tokens.length)]);
    } else {
      const base = valid[rand(valid.length)];
      const at = rand(base.length + 1);
      line = [...base.slice(0, at), ...tokens[rand(tokens.length)], ...base.slice(at + rand(2))];
    }
    const bytes = Uint8Array.from(line);
    if (isPlainJsonLine(bytes, 0, bytes.length)) {
      passed++;
      const decoded = Buffer.from(bytes).toString('utf8');
      assert.ok(parses(decoded), `passed but JSON.parse refuses its decoding: ${JSON.stringify(decoded)} (bytes ${Buffer.from(bytes).toString('hex')})`);
    }
  }
  assert.ok(passed > 1000, `the fuzz should reach valid lines too (passed ${passed})`);
});

test('plainJsonLineEnd equals isPlainJsonLine up to the first newline, for any start and limit, with newlines inside and after values; bytes past limit do not matter', () => {
  const rand = seededRandom(0x1b873593);
  const tokens = ['{', '}', '[', ']', ',', ':', '"', '"a"', '"k":', '"\\u00e9"', '\\', 'true', 'tru', 'null', '0', '-', '1.5', '1e', '12', ' ', '\t', '\r', '\n', '\n', 'é', '{"a":1}', '[1,2]', '"s\n"'];
  const line = () => {
    const parts: Buffer[] = [];
    for (let n = rand(8); n >= 0; n--) parts.push(rand(8) === 0 ? Buffer.from([rand(256)]) : Buffer.from(tokens[rand(tokens.length)]));
    return Buffer.concat(parts);
  };
  let plain = 0;
  for (let t = 0; t < 100_000; t++) {
    const valid = Buffer.from(JSON.stringify({ k: rand(1000), s: 'x' }));
    const head = rand(3) === 0 ? valid : line();
    const buf = Buffer.concat([rand(3) === 0 ? Buffer.alloc(0) : line(), head, Buffer.from(rand(4) === 0 ? '' : '\n'), line()]);
    const start = rand(buf.length + 1);
    const limit = start + rand(buf.length - start + 1);
    let nl = buf.indexOf(0x0a, start);
    if (nl >= limit) nl = -1;
    const expected = nl !== -1 && isPlainJsonLine(buf, start, nl) ? nl : -1;
    if (expected !== -1) plain++;
    const where = `${JSON.stringify(buf.toString('latin1'))} from ${start} to ${limit}`;
    assert.equal(plainJsonLineEnd(buf, start, limit), expected, where);
    const junkPastLimit = Buffer.concat([buf.subarray(0, limit), Buffer.from('\n}]0e')]);
    assert.equal(plainJsonLineEnd(junkPastLimit, start, limit), expected, where);
  }
  assert.ok(plain > 1000, `the fuzz should reach plain lines too (${plain})`);
});
