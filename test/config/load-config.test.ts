// The config loader: the reference in docs/config.md is a config that loads; a key written with
// nothing after it is not set; a value of the wrong type is named with what is allowed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { GpupoolError } from '../../src/errors/index.js';
import { loadConfig, resolveConfig } from '../../src/config/index.js';
import { tempDir } from '../helpers/cli.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function configError(yaml: string): string {
  try {
    resolveConfig(YAML.parse(yaml), '/tmp');
  } catch (err) {
    assert.ok(err instanceof GpupoolError);
    assert.equal(err.code, 'GPUPOOL_E_CONFIG');
    return err.message;
  }
  assert.fail('the config was accepted');
}

test('the reference config of docs/config.md loads as written', () => {
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'config.md'), 'utf8');
  const block = /```yaml\n([\s\S]*?)```/.exec(doc);
  assert.ok(block, 'docs/config.md has a yaml block');
  const config = resolveConfig(YAML.parse(block[1]), '/tmp');
  assert.deepEqual(Object.keys(config.models), ['ocr', 'echo']);
  assert.equal(config.models.ocr.batch.max_cost, undefined);
  assert.equal(config.models.ocr.memory.need, undefined);
});

test('a key with nothing after it is not set; one inside a list is refused', () => {
  const m = resolveConfig(YAML.parse('models:\n  m:\n    command: [w]\n    devices:\n    batch: { max_cost: , timeout: 2ms }\n    memory: { need: , limit: }\n    env: { A: , B: 1 }\n'), '/tmp').models.m;
  assert.equal(m.batch.max_cost, undefined);
  assert.equal(m.batch.timeout, 2);
  assert.equal(m.memory.need, undefined);
  assert.deepEqual(m.env, { B: '1' });
  assert.deepEqual(m.devices, ['all']);
  assert.match(configError('models:\n  m:\n    command: [w, null]\n'), /`models\.m\.command\.1` .*got null/);
  // YAML's numbers and booleans in argv are their text, as in env: (`[w.py, --n, 5]` was refused).
  assert.deepEqual(resolveConfig(YAML.parse('models:\n  m:\n    command: [w.py, --n, 5, --fast, true, 0.5]\n'), '/tmp').models.m.command, ['w.py', '--n', '5', '--fast', 'true', '0.5']);
  assert.match(configError('models:\n  m:\n    command:\n'), /`models\.m\.command` .*got nothing/);
  // A model with nothing under its name is refused by name, not dropped.
  assert.match(configError('models:\n  a:\n  b:\n    command: [w]\n'), /`models\.a` expected object \(the model's definition: command, devices, …\), got null/);
});

test('a value of neither allowed type names the key, what is allowed and the value', () => {
  const cases: [string, RegExp][] = [
    ['batch: { timeout: [1] }', /`models\.m\.batch\.timeout` must be a duration like "5ms", "2s" or "10m" \(batch\.timeout\), got \[1\]/],
    ['memory: { need: { a: 1 } }', /`models\.m\.memory\.need` must be a size like "2GiB", "512MB" or a number of bytes, got \{"a":1\}/],
    ['devices: { a: 1 }', /`models\.m\.devices` must be all, cpu, a device index, a list of them .*got \{"a":1\}/],
    ['env: { A: [1] }', /`models\.m\.env\.A` must be a string, a number or a boolean, got \[1\]/],
  ];
  for (const [line, message] of cases) {
    const text = configError(`models:\n  m:\n    command: [w]\n    ${line}\n`);
    assert.match(text, message, line);
    assert.doesNotMatch(text, /Invalid input/, line);
  }
});

test('an unknown key lists the allowed ones and the likely slip; a bad model name gives the rule; bounds', () => {
  const unknown = configError('models:\n  m:\n    command: [w]\n    worker_per_device: 2\n    batch: { maxx: 3, Time-Out: 1 }\n');
  assert.match(unknown, /`models\.m` has unknown key\(s\) "worker_per_device" \(did you mean "workers_per_device"\?\); allowed: kind, command, devices, workers_per_device,/);
  assert.match(unknown, /`models\.m\.batch` has unknown key\(s\) "maxx" \(did you mean "max"\?\), "Time-Out" \(did you mean "timeout"\?\); allowed: max, timeout, max_cost, deadline, in_flight/);
  assert.match(configError('modles: {}\n'), /the config has unknown key\(s\) "modles" \(did you mean "models"\?\); allowed: models/);
  assert.match(configError('models:\n  m:\n    command: [w]\n    batch: { zzz: 1 }\n'), /unknown key\(s\) "zzz"; allowed: max,/);
  assert.match(configError('models:\n  "m m":\n    command: [w]\n'), /`models\.m m`: the name "m m" is not allowed: model names use letters, digits, _ \. -/);
  assert.match(configError('models:\n  m:\n    command: [w]\n    workers_per_device: 5000\n'), /`models\.m\.workers_per_device` at most 256 workers per device \(each is a process\), got 5000/);
});

test('a YAML syntax error names the line, its text and the problem', () => {
  const file = path.join(tempDir(), 'bad.yaml');
  fs.writeFileSync(file, 'models:\n  m:\n    command: [x\n  y: 1\n');
  assert.throws(() => loadConfig(file), (err: GpupoolError) => {
    assert.equal(err.code, 'GPUPOOL_E_CONFIG');
    assert.match(err.message, /bad\.yaml is not valid YAML at line 4, column 3 \("  y: 1"\): Flow sequence in block collection must be sufficiently indented and end with a \]$/);
    return true;
  });
});

test('a config that is not a mapping with models (an empty file, a list, a word) says what it must be', () => {
  // Its key is the empty path: it read "`` expected object, got null", naming neither.
  assert.match(configError(''), /^config: the config must be a YAML mapping with a `models:` key \(each model's command, devices, …\), got nothing \(an empty file, or only comments\)$/);
  assert.match(configError('# only a comment\n'), /got nothing \(an empty file, or only comments\)$/);
  assert.match(configError('- a\n- b\n'), /^config: the config must be a YAML mapping with a `models:` key .*, got \["a","b"\]$/);
  assert.match(configError('hello\n'), /got "hello"$/);
  assert.match(configError('models:\n'), /^config: `models` must map each model's name to its definition \(command, devices, …\), got nothing$/);
  assert.match(configError('models: [a]\n'), /`models` must map each model's name to its definition .*, got \["a"\]$/);
});

test('-c naming a folder says so; a missing file says it does not exist', () => {
  const dir = tempDir();
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (err) {
      return [(err as GpupoolError).code, (err as Error).message];
    }
    return assert.fail('no error');
  };
  assert.deepEqual(code(() => loadConfig(dir)), ['GPUPOOL_E_CONFIG_NOT_FOUND', `config file "${dir}" is a folder: -c takes the YAML file (its models: …)`]);
  const missing = path.join(dir, 'gpupool.yaml');
  assert.deepEqual(code(() => loadConfig(missing)), ['GPUPOOL_E_CONFIG_NOT_FOUND', `config file "${missing}" does not exist`]);
});
