import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from '../../src/config/index.js';
import { GpupoolError } from '../../src/errors/index.js';
import { echoConfig, runCli, tempDir, writeJsonl } from '../helpers/cli.js';

const configError = (raw: unknown, ...fragments: string[]) =>
  assert.throws(
    () => resolveConfig(raw, '/tmp'),
    (e: unknown) => e instanceof GpupoolError && e.code === 'GPUPOOL_E_CONFIG' && fragments.every((f) => e.message.includes(f)),
  );

test('config: placement is spread or pack (spread by default); memory.limit and memory.need are sizes', () => {
  const m = resolveConfig({ models: { m: { command: ['x'], memory: { need: '30GiB', limit: '40GiB' }, placement: 'pack' } } }, '/tmp').models.m;
  assert.deepEqual([m.placement, m.memory.need, m.memory.limit], ['pack', 30 * 1024 ** 3, 40 * 1024 ** 3]);
  assert.equal(resolveConfig({ models: { m: { command: ['x'] } } }, '/tmp').models.m.placement, 'spread');
  configError({ models: { m: { command: ['x'], placement: 'fill' } } }, '`models.m.placement`', '"spread"', '"pack"', 'got "fill"');
  configError({ models: { m: { command: ['x'], memory: { limit: 'lots' } } } }, '`models.m.memory.limit`', 'must be a size', '"lots"');
});

test('gpupool run --on-stray takes warn or kill; anything else is a usage error naming the value', async () => {
  const dir = tempDir('gpupool-on-stray-');
  const config = echoConfig(dir);
  const input = writeJsonl(`${dir}/in.jsonl`, 3);
  const bad = await runCli(['run', '-c', config, '-i', input, '-o', `${dir}/out.jsonl`, '--on-stray', 'explode']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--on-stray must be one of warn, kill, got "explode"/);
  const ok = await runCli(['run', '-c', config, '-i', input, '-o', `${dir}/out.jsonl`, '--on-stray', 'kill', '--progress', 'none', '--json']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal((JSON.parse(ok.stdout) as { done: number }).done, 3);
});

test('gpupool serve and gpupool agent take --on-stray too, and name a bad value', async () => {
  const dir = tempDir('gpupool-on-stray-');
  const config = echoConfig(dir);
  for (const args of [['serve', '-c', config, '--port', '0'], ['agent', '-c', config, '--redis', 'redis://127.0.0.1:6379']]) {
    const bad = await runCli([...args, '--on-stray', 'explode']);
    assert.equal(bad.code, 2, `${args[0]}: ${bad.stderr}`);
    assert.match(bad.stderr, /--on-stray must be one of warn, kill, got "explode"/);
  }
});
