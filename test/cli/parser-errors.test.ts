// The argument parser's own errors (an unknown option, a missing one, an unknown command) read as
// every other error of the CLI: `gpupool: GPUPOOL_E_USAGE: …`, a remedy, exit status 2.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';

test('parser errors: the usage code, the message, a remedy, exit status 2', async () => {
  const cases: [string[], RegExp][] = [
    [['run', '-c', 'x.yaml', '-i', 'in.jsonl', '-o', 'out.jsonl', '--bogus'], /unknown option '--bogus'/],
    [['run', '-c', 'x.yaml', '-o', 'out.jsonl'], /required option '-i, --input <path>' not specified/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^gpupool: GPUPOOL_E_USAGE: ${message.source}`));
    assert.match(r.stderr, /\n {2}remedy: Run the command with --help to see its options\.\n$/);
  }
  const help = await runCli(['--help']);
  assert.equal(help.code, 0);
  assert.doesNotMatch(help.stdout + help.stderr, /GPUPOOL_E_USAGE/);
});

test('a count flag takes decimal digits only: not 0x10, 1e3, " 7" or a number past 2^53', async () => {
  for (const value of ['0x10', '1e3', ' 7', '99999999999999999999', '0', '-1', '']) {
    const r = await runCli(['run', '-c', 'x.yaml', '-i', 'in.jsonl', '-o', 'out.jsonl', '--max-pending', value]);
    assert.equal(r.code, 2, `${value}: ${r.stderr}`);
    assert.ok(r.stderr.includes(`GPUPOOL_E_USAGE: --max-pending must be an integer ≥ 1, got ${JSON.stringify(value)} (decimal digits, at most 9007199254740991)`), r.stderr);
  }
});
