import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { ERROR_CODES, GpupoolError } from '../../src/errors/index.js';

test('every error code is documented in docs/errors.md with its exit code and HTTP status', () => {
  const doc = fs.readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  for (const [code, spec] of Object.entries(ERROR_CODES)) {
    const row = doc.split('\n').find((l) => l.startsWith(`| \`${code}\` |`));
    assert.ok(row, `${code} is not documented`);
    assert.match(row, new RegExp(`\\| ${spec.exitCode} \\| ${spec.httpStatus} \\|`), `${code}: exit/HTTP differ from the registry`);
  }
});

test('a GpupoolError carries its registry status, exit code and HTTP body', () => {
  const e = new GpupoolError('GPUPOOL_E_UNKNOWN_MODEL', 'unknown model "x"');
  assert.equal(e.exitCode, ERROR_CODES.GPUPOOL_E_UNKNOWN_MODEL.exitCode);
  assert.deepEqual(e.toJSON(), { statusCode: 404, code: 'GPUPOOL_E_UNKNOWN_MODEL', error: 'GpupoolError', message: 'unknown model "x"' });
});
