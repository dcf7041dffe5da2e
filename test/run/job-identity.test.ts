// A job's identity: the state of a JSONL file (size, modification time) is in its fingerprint but
// not in its key, which names the job in Redis; a journal made before the state was recorded
// (fingerprint = key) is still this job's. A folder's listing is its state.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { resolveConfig } from '../../src/config/index.js';
import { jobIdentity } from '../../src/run/job-identity.js';
import { FileSource, JsonlSource, ThreadedJsonlSource } from '../../src/run/sources/index.js';
import { tempDir } from '../helpers/cli.js';

test("a touched file changes the fingerprint, not the key; both readers give the same identity", () => {
  const dir = tempDir();
  const file = path.join(dir, 'in.jsonl');
  fs.writeFileSync(file, '{"a":1}\n');
  const config = resolveConfig({ models: { m: { command: ['w'] } } }, dir);
  const model = config.models.m;
  const before = jobIdentity(config, model, JsonlSource.fromFile(file, 'cost'), path.join(dir, 'out.jsonl'));
  const threaded = jobIdentity(config, model, ThreadedJsonlSource.fromFile(file, 'cost'), path.join(dir, 'out.jsonl'));
  assert.equal(threaded.fingerprint, before.fingerprint);
  fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
  const after = jobIdentity(config, model, JsonlSource.fromFile(file, 'cost'), path.join(dir, 'out.jsonl'));
  assert.notEqual(after.fingerprint, before.fingerprint);
  assert.equal(after.key, before.key);
  assert.deepEqual(after.formerFingerprints, [after.key], 'a journal made before the state was recorded is accepted');
  assert.match(String(after.description.inputState), /^8 bytes, modified \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
});

test("a source without a state (a pipe) never gets the key as its fingerprint: only journals from before the state was recorded hold it", () => {
  const dir = tempDir();
  const config = resolveConfig({ models: { m: { command: ['w'] } } }, dir);
  const piped = jobIdentity(config, config.models.m, JsonlSource.fromStream(Readable.from([]), 'stdin', 'cost'), path.join(dir, 'out.jsonl'));
  assert.notEqual(piped.fingerprint, piped.key);
  assert.deepEqual(piped.formerFingerprints, [piped.key]);
});

test("a folder's listing is its state; a journal made when a folder had none (fingerprinted with null) is still this job's", async () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'a.png'), '');
  const config = resolveConfig({ models: { m: { command: ['w'] } } }, dir);
  const model = config.models.m;
  const source = await FileSource.directory(dir);
  const identity = jobIdentity(config, model, source, path.join(tempDir(), 'out.jsonl'));
  assert.match(String(identity.description.inputState), /^1 file, listing sha256 [0-9a-f]{32}$/);
  // The fingerprint gpupool gave a folder's job before it recorded the listing, as that version computed it.
  const before = createHash('sha256').update(JSON.stringify([model.name, model.command, source.identity, null, null])).digest('hex');
  assert.notEqual(identity.fingerprint, before);
  assert.deepEqual(identity.formerFingerprints, [identity.key, before]);
});

test("a folder is known by its real place; a journal made when it was known by its path as given (through a link) is still this job's", async () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'a.png'), '');
  const link = path.join(tempDir(), 'link');
  fs.symlinkSync(dir, link);
  const config = resolveConfig({ models: { m: { command: ['w'] } } }, dir);
  const model = config.models.m;
  const out = path.join(tempDir(), 'out.jsonl');
  const viaLink = await FileSource.directory(link);
  const direct = await FileSource.directory(dir);
  assert.equal(viaLink.identity, `files:${fs.realpathSync(dir)}`);
  assert.equal(viaLink.identity, direct.identity);
  assert.equal(viaLink.formerIdentity, `files:${link}`);
  const identity = jobIdentity(config, model, viaLink, out);
  const asBefore = (parts: unknown[]) => createHash('sha256').update(JSON.stringify(parts)).digest('hex');
  // What this session's earlier commits and the gpupool before folders had a listing gave the job run through the link.
  for (const former of [asBefore([model.name, model.command, `files:${link}`, null, viaLink.state]), asBefore([model.name, model.command, `files:${link}`, null, null])]) {
    assert.ok(identity.formerFingerprints?.includes(former));
  }
  assert.equal(identity.fingerprint, jobIdentity(config, model, direct, out).fingerprint);
});
