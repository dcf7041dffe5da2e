// An option that takes one value, given twice, and words left after the options (an unquoted glob
// the shell expanded) are usage errors that name them: the parser kept the last -i and ran it alone.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { echoConfig, runCli, tempDir, writeJsonl } from '../helpers/cli.js';

test('-i given twice is refused, naming both, and nothing runs (the first input was dropped without a word)', async () => {
  const dir = tempDir();
  const a = writeJsonl(path.join(dir, 'a.jsonl'), 3);
  const b = writeJsonl(path.join(dir, 'b.jsonl'), 5);
  const out = path.join(dir, 'out.jsonl');
  const r = await runCli(['run', '-c', echoConfig(dir), '-i', a, '-i', b, '-o', out, '--progress', 'none'], { timeoutMs: 30_000 });
  assert.equal(r.code, 2, r.stderr);
  assert.ok(r.stderr.startsWith(`gpupool: GPUPOOL_E_USAGE: -i, --input was given twice (${JSON.stringify(a)}, then ${JSON.stringify(b)}); it takes one value`), r.stderr);
  assert.equal(fs.existsSync(out), false, 'nothing ran');
  const o = await runCli(['run', '-c', echoConfig(dir), '-i', a, '-o', out, '-o', path.join(dir, 'other.jsonl'), '--progress', 'none'], { timeoutMs: 30_000 });
  assert.equal(o.code, 2, o.stderr);
  assert.match(o.stderr, /GPUPOOL_E_USAGE: -o, --output was given twice/);
});

test('words after the options (a glob the shell expanded) are named, with the fix, for run and submit', async () => {
  const dir = tempDir();
  const pages = ['p1.png', 'p2.png', 'p3.png'].map((n) => path.join(dir, n));
  for (const p of pages) fs.writeFileSync(p, 'x');
  const out = path.join(dir, 'out.jsonl');
  // As `-i pages/*.png` unquoted reaches gpupool: the first file to -i, the others after it.
  const run = await runCli(['run', '-c', echoConfig(dir), '-i', ...pages, '-o', out, '--progress', 'none'], { timeoutMs: 30_000 });
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /^gpupool: GPUPOOL_E_USAGE: run takes no arguments besides its options, got ".*p2\.png", ".*p3\.png": .*quote it \(-i 'pages\/\*\.png'\)/);
  assert.equal(fs.existsSync(out), false, 'nothing ran');
  const submit = await runCli(['submit', '-c', echoConfig(dir), '--redis', 'redis://127.0.0.1:1', '-i', ...pages, '-o', out], { timeoutMs: 30_000 });
  assert.equal(submit.code, 2, submit.stderr);
  assert.match(submit.stderr, /^gpupool: GPUPOOL_E_USAGE: submit takes no arguments besides its options, got ".*p2\.png"/);
});

test('serve, agent and infer refuse a one-value option given twice too, before starting anything', async () => {
  const dir = tempDir();
  const config = echoConfig(dir);
  const cases: [string[], RegExp][] = [
    [['serve', '-c', config, '-c', path.join(dir, 'other.yaml'), '--port', '0'], /-c, --config was given twice/],
    [['agent', '-c', config, '--redis', 'redis://127.0.0.1:6379', '--name', 'a', '--name', 'b'], /--name was given twice \("a", then "b"\)/],
    [['infer', '--url', 'http://127.0.0.1:1', '-m', 'echo', '-m', 'other', '{}'], /-m, --model was given twice/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(args, { timeoutMs: 30_000 });
    assert.equal(r.code, 2, `${args[0]}: ${r.stderr}`);
    assert.match(r.stderr, message, args[0]);
  }
});

test('a token or a Redis password given twice is not printed in the refusal', async () => {
  const dir = tempDir();
  const config = echoConfig(dir);
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 1);
  const cases: [string[], RegExp][] = [
    [['serve', '-c', config, '--token', 'tok-first-secret', '--token', 'tok-second-secret', '--port', '0'], /--token was given twice; it takes one value/],
    [['infer', '--url', 'http://127.0.0.1:1', '--token', 'tok-first-secret', '--token', 'tok-second-secret', '{}'], /--token was given twice; it takes one value/],
    [['agent', '-c', config, '--redis', 'redis://:pw-first-secret@127.0.0.1:1', '--redis', 'redis://:pw-second-secret@127.0.0.1:1'], /--redis was given twice \("redis:\/\/:\*\*\*@127\.0\.0\.1:1", then "redis:\/\/:\*\*\*@127\.0\.0\.1:1"\)/],
    // submit kept the last --redis without a word, as run did -i.
    [['submit', '-c', config, '--redis', 'redis://:pw-first-secret@127.0.0.1:1', '--redis', 'redis://:pw-second-secret@127.0.0.1:1', '-i', input, '-o', path.join(dir, 'out.jsonl')], /--redis was given twice \("redis:\/\/:\*\*\*@127\.0\.0\.1:1"/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(args, { timeoutMs: 30_000 });
    assert.equal(r.code, 2, `${args[0]}: ${r.stderr}`);
    assert.match(r.stderr, message, args[0]);
    assert.doesNotMatch(r.stderr + r.stdout, /secret/, `${args[0]} printed the secret`);
  }
});

test('an option with a default given twice is refused too (its default is not a first value), while repeatable ones collect', async () => {
  const dir = tempDir();
  const config = echoConfig(dir);
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 2);
  const out = path.join(dir, 'out.jsonl');
  const cases: [string[], RegExp][] = [
    [['serve', '-c', config, '--port', '0', '--port', '9'], /--port was given twice \("0", then "9"\)/],
    [['serve', '-c', config, '--state-dir', path.join(dir, 'a'), '--state-dir', path.join(dir, 'b'), '--port', '0'], /--state-dir was given twice/],
    [['run', '-c', config, '-i', input, '-o', out, '--max-pending', '5', '--max-pending=6'], /--max-pending was given twice \("5", then "6"\)/],
    [['run', '-c', config, '-i', input, '-o', out, '--on-error', 'stop', '--on-error', 'continue'], /--on-error was given twice \("stop", then "continue"\)/],
    [['submit', '-c', config, '--redis', 'redis://127.0.0.1:1', '-i', input, '-o', out, '--prefix', 'a', '--prefix', 'b'], /--prefix was given twice/],
    [['submit', '-c', config, '--redis', 'redis://127.0.0.1:1', '-i', input, '-o', out, '--job', 'a', '--job', 'b'], /--job was given twice/],
    [['status', '--redis', 'redis://127.0.0.1:1', '--prefix', 'a', '--prefix', 'b'], /--prefix was given twice/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(args, { timeoutMs: 30_000 });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
  }
  assert.equal(fs.existsSync(out), false, 'nothing ran');
  const once = await runCli(['run', '-c', config, '-i', input, '-o', out, '--max-pending', '5', '--on-error', 'stop', '--progress', 'none'], { timeoutMs: 30_000 });
  assert.equal(once.code, 0, `each given once: ${once.stderr}`);
  const doctor = await runCli(['doctor', '--port', '1', '--port', '2', '--json'], { timeoutMs: 30_000 });
  const ports = (JSON.parse(doctor.stdout) as { findings: { check: string; message: string }[] }).findings.filter((f) => f.check === 'ports');
  assert.ok(ports.length > 0 && !/given twice/.test(doctor.stderr), `doctor's --port is repeatable: ${doctor.stderr}`);
});

test('an option whose value is optional, given twice without one, is refused without quoting values it never had', async () => {
  const cases: [string[], RegExp][] = [
    [['devices', '--watch', '--watch'], /--watch was given twice \(no value, then no value\); it takes one value$/m],
    [['devices', '--watch', '--watch', '3'], /--watch was given twice \(no value, then "3"\)/],
    [['devices', '--watch=2', '--watch'], /--watch was given twice \("2", then no value\)/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(args, { timeoutMs: 30_000 });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
  }
});

test("infer's -i given twice is refused without run's advice of a folder or a glob (infer reads one file)", async () => {
  const dir = tempDir();
  const a = writeJsonl(path.join(dir, 'a.jsonl'), 1);
  const r = await runCli(['infer', '--url', 'http://127.0.0.1:1', '-i', a, '-i', a], { timeoutMs: 30_000 });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /GPUPOOL_E_USAGE: -i, --input was given twice \(.*\); it takes one value\s/);
  assert.doesNotMatch(r.stderr, /folder|glob/, 'infer -i takes one JSONL file');
});
