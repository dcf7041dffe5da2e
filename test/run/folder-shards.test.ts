/**
 * `--shard I/N --shard-by name` over a folder takes a file by a hash of its name, not by its
 * position: shards that list the folder at different moments (files still arriving, in the
 * middle of the walk order too) never run one file twice, and together run every file that they
 * all saw. By position (the default, as for JSONL lines), such shards run some files twice.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { describeShard, shardOwnsName } from '../../src/run/shard.js';
import { echoConfig, readOutput, runCli, tempDir } from '../helpers/cli.js';

function addPages(folder: string, names: string[]): void {
  for (const name of names) {
    fs.mkdirSync(path.dirname(path.join(folder, name)), { recursive: true });
    fs.writeFileSync(path.join(folder, name), name);
  }
}

test('a name is one shard\'s, the same on every machine, and names spread evenly', () => {
  const names = Array.from({ length: 3000 }, (_, i) => `scans/2026-12-${String((i % 28) + 1).padStart(2, '0')}/page-${i}.png`);
  const counts = [0, 0, 0];
  for (const name of names) {
    const owners = [0, 1, 2].filter((index) => shardOwnsName({ index, count: 3 }, name));
    assert.equal(owners.length, 1, `${name}: one shard`);
    counts[owners[0]]++;
  }
  for (const n of counts) assert.ok(n > 850 && n < 1150, `shares ${counts.join(', ')} of 3000`);
  // sha1 of the name: fixed, so shards on other machines (other Node versions) agree.
  assert.deepEqual([0, 1, 2].filter((index) => shardOwnsName({ index, count: 3 }, 'a.png')), [2]);
  assert.equal(describeShard({ index: 1, count: 3, by: 'name' }), '1/3 by file name');
  assert.equal(describeShard({ index: 1, count: 3, by: 'position' }), '1/3');
  assert.equal(describeShard({ index: 1, count: 3 }), '1/3');
});

test('three shards listing a folder at different moments, files added in the middle between: by name no file runs twice and every file seen by all runs; by position some run twice', async () => {
  for (const by of ['name', 'position'] as const) {
    const dir = tempDir();
    const pages = path.join(dir, 'pages');
    addPages(pages, Array.from({ length: 60 }, (_, i) => `p${String(i * 2).padStart(3, '0')}.txt`));
    const config = echoConfig(dir);
    const ran = async (shard: string): Promise<string[]> => {
      const out = path.join(dir, `out-${shard.replace('/', '-')}.jsonl`);
      const r = await runCli(['run', '-c', config, '-i', pages, '-o', out, '--progress', 'none', '--shard', shard, ...(by === 'name' ? ['--shard-by', 'name'] : [])]);
      assert.equal(r.code, 0, r.stderr);
      return readOutput(out).map((l) => path.relative(pages, String(l.id)));
    };
    const first = await ran('0/3');
    // Files arrive in the middle of the walk order (odd numbers between the even ones) before the other shards start.
    const added = Array.from({ length: 20 }, (_, i) => `p${String(i * 2 + 1).padStart(3, '0')}.txt`);
    addPages(pages, added);
    const all = [...first, ...(await ran('1/3')), ...(await ran('2/3'))];
    if (by === 'position') {
      assert.ok(new Set(all).size < all.length, 'by position, the shifted files ran in two shards');
      continue;
    }
    assert.equal(new Set(all).size, all.length, 'no file ran in two shards');
    const seenByAll = fs.readdirSync(pages).filter((name) => !added.includes(name));
    assert.deepEqual(seenByAll.filter((name) => !all.includes(name)), [], 'every file all shards saw ran');
    for (const name of first) assert.ok(shardOwnsName({ index: 0, count: 3 }, name), `${name} is shard 0's`);
  }
});

test("a shard's journal names its rule and resumes under it; the other rule is refused saying why", async () => {
  const dir = tempDir();
  const pages = path.join(dir, 'pages');
  addPages(pages, ['a.txt', 'b.txt', 'sub/c.txt']);
  const out = path.join(dir, 'out.jsonl');
  const args = ['run', '-c', echoConfig(dir), '-i', pages, '-o', out, '--progress', 'none', '--shard', '1/2', '--json'];
  assert.equal((await runCli([...args, '--shard-by', 'name'])).code, 0);
  const again = await runCli([...args, '--shard-by', 'name']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal((JSON.parse(again.stdout) as { resumed: number }).resumed, readOutput(out).length, 'resumed, nothing run again');
  const status = JSON.parse((await runCli(['status', out, '--json'])).stdout) as { description: { shard?: string } };
  assert.equal(status.description.shard, '1/2 by file name');
  const byPosition = await runCli(args);
  assert.equal(byPosition.code, 10);
  assert.match(byPosition.stderr, /why: the journal's run gave this shard its inputs by name, this run by position: they are other inputs; run with --shard-by name as it did, or again with --fresh/);
});

test("by name, a shard's journal is of its own files: files another shard takes, added anywhere, change nothing for it; its own added after its last resume", async () => {
  const dir = tempDir();
  const pages = path.join(dir, 'pages');
  const shard = { index: 0, count: 2 };
  const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(3, '0')}.txt`);
  addPages(pages, names('m', 20));
  const out = path.join(dir, 'out.jsonl');
  const args = ['run', '-c', echoConfig(dir), '-i', pages, '-o', out, '--progress', 'none', '--shard', '0/2', '--shard-by', 'name', '--json'];
  const first = await runCli(args);
  assert.equal(first.code, 0, first.stderr);
  const mine = names('m', 20).filter((n) => shardOwnsName(shard, n));
  assert.equal(readOutput(out).length, mine.length);
  // The other shard's files, in the middle of the walk order ("a…" before "m…"): nothing changed for this shard.
  addPages(pages, names('a', 40).filter((n) => !shardOwnsName(shard, n)));
  assert.doesNotMatch((await runCli(['status', out])).stdout, /^input:/m, 'status: its input is as it was');
  const same = await runCli(args);
  assert.equal(same.code, 0, same.stderr);
  assert.deepEqual((JSON.parse(same.stdout) as { done: number; resumed: number }).done, 0);
  // Its own files added after its last ("z…"): they run, nothing twice.
  const added = names('z', 20).filter((n) => shardOwnsName(shard, n));
  addPages(pages, added);
  const grown = await runCli(args);
  assert.equal(grown.code, 0, grown.stderr);
  assert.deepEqual((JSON.parse(grown.stdout) as { done: number; resumed: number }).done, added.length);
  const ids = readOutput(out).map((l) => path.relative(pages, String(l.id)));
  assert.deepEqual([...ids].sort(), [...mine, ...added].sort());
  // Its own files added in the middle ("b…" before "m…"): resumed by file name, they alone run.
  const middle = names('b', 20).filter((n) => shardOwnsName(shard, n));
  addPages(pages, middle);
  const remapped = await runCli(args);
  assert.equal(remapped.code, 0, remapped.stderr);
  assert.deepEqual((JSON.parse(remapped.stdout) as { done: number }).done, middle.length);
  const all = readOutput(out).map((l) => path.relative(pages, String(l.id)));
  assert.deepEqual([...all].sort(), [...mine, ...added, ...middle].sort(), 'each of its files once');
});

test('by position, a shard whose folder changed in the middle is refused: its files would be other shards\'', async () => {
  const dir = tempDir();
  const pages = path.join(dir, 'pages');
  addPages(pages, ['b.txt', 'c.txt', 'd.txt']);
  const out = path.join(dir, 'out.jsonl');
  const args = ['run', '-c', echoConfig(dir), '-i', pages, '-o', out, '--progress', 'none', '--shard', '0/2', '--json'];
  assert.equal((await runCli(args)).code, 0);
  addPages(pages, ['a.txt']);
  const r = await runCli(args);
  assert.equal(r.code, 10, r.stderr);
  assert.match((JSON.parse(r.stderr) as { message: string }).message, /why: its first 3 files in walk order are not those of then/);
  assert.match((await runCli(['status', out])).stdout, /the same command will refuse it: its first 3 files/);
});

test('--shard-by: by name only over a folder or glob, only with --shard, and only position or name', async () => {
  const dir = tempDir();
  const input = path.join(dir, 'in.jsonl');
  fs.writeFileSync(input, '{"v":1}\n');
  const out = path.join(dir, 'out.jsonl');
  const base = ['run', '-c', echoConfig(dir), '-i', input, '-o', out, '--progress', 'none'];
  const jsonl = await runCli([...base, '--shard', '0/2', '--shard-by', 'name']);
  assert.equal(jsonl.code, 2, jsonl.stderr);
  assert.match(jsonl.stderr, /--shard-by name takes a folder or glob as input \(its files have names\), got ".*in\.jsonl", whose lines have none: leave --shard-by out to shard them by position/);
  const alone = await runCli([...base, '--shard-by', 'name']);
  assert.equal(alone.code, 2);
  assert.match(alone.stderr, /--shard-by name goes with --shard I\/N, which was not given/);
  const bad = await runCli([...base, '--shard', '0/2', '--shard-by', 'hash']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--shard-by must be one of position, name, got "hash"/);
  assert.equal(fs.existsSync(out), false, 'nothing written by a refused run');
});

test("shards writing their outputs into the folder they read do not take each other's outputs for inputs", async () => {
  const dir = tempDir();
  const pages = path.join(dir, 'pages');
  addPages(pages, Array.from({ length: 12 }, (_, i) => `p${String(i).padStart(2, '0')}.txt`));
  const config = echoConfig(dir);
  const ran: string[] = [];
  for (const shard of ['0/2', '1/2', '0/2']) {
    const out = path.join(pages, `out-${shard[0]}.jsonl`);
    const r = await runCli(['run', '-c', config, '-i', pages, '-o', out, '--progress', 'none', '--shard', shard, '--shard-by', 'name']);
    assert.equal(r.code, 0, r.stderr);
    ran.push(...readOutput(out).map((l) => path.relative(pages, String(l.id))));
  }
  assert.deepEqual(ran.filter((name) => name.startsWith('out-')), [], 'no output ran as an input');
  // A file that merely sits beside .gpupool, with no journal of its own there, is still an input.
  assert.ok(ran.includes('p00.txt') || ran.includes('p01.txt'));
});
