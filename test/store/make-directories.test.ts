// makeDirectories: mkdir -p that returns an error where Node's recursive mkdir spins (procfs).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { makeDirectories } from '../../src/store/make-directories.js';
import { tempDir } from '../helpers/cli.js';

test('makes every missing folder; an existing one is fine; a file in the way is ENOTDIR; procfs is ENOENT at once', () => {
  const dir = tempDir();
  const deep = path.join(dir, 'a', 'b', 'c');
  makeDirectories(deep);
  assert.ok(fs.statSync(deep).isDirectory());
  makeDirectories(deep);
  const file = path.join(dir, 'file');
  fs.writeFileSync(file, '');
  assert.throws(() => makeDirectories(path.join(file, 'sub')), { code: 'ENOTDIR' });
  assert.throws(() => makeDirectories(file), { code: 'ENOTDIR' });
  // fs.mkdirSync('/proc/…', { recursive: true }) never returns (Node retries the ENOENT).
  assert.throws(() => makeDirectories('/proc/gpupool-test/x'), { code: 'ENOENT', syscall: 'mkdir' });
});
