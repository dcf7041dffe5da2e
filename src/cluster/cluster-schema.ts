import fs from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { GpupoolError } from '../errors/index.js';
import { packageRoot } from '../pool/index.js';
import { CLUSTER_SCHEMA, type ClusterKeys } from './cluster-keys.js';

let version: string | undefined;

/** This gpupool's version, from its package.json. */
export function gpupoolVersion(): string {
  if (version === undefined) {
    try {
      version = String((JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown }).version ?? 'unknown');
    } catch {
      version = 'unknown';
    }
  }
  return version;
}

/**
 * Checks the version marker of the queues under `keys.prefix`: the first gpupool to use a
 * prefix writes it (`create`), every later one must find the schema it speaks, or stops with
 * GPUPOOL_E_QUEUE_VERSION before it touches a queue. Returns false when `create` is off and
 * nothing is there yet.
 */
export async function checkQueueSchema(redis: Redis, keys: ClusterKeys, maskedUrl: string, create: boolean): Promise<boolean> {
  let marker: Record<string, string>;
  try {
    if (create) {
      await redis
        .multi()
        .hsetnx(keys.meta, 'schema', CLUSTER_SCHEMA)
        .hsetnx(keys.meta, 'createdBy', gpupoolVersion())
        .hsetnx(keys.meta, 'createdAt', Date.now())
        .exec()
        .then((results) => {
          const failed = results?.find(([err]) => err !== null);
          if (failed) throw failed[0];
        });
    }
    marker = await redis.hgetall(keys.meta);
  } catch (err) {
    if ((err as Error).message?.startsWith('WRONGTYPE')) {
      throw versionError(maskedUrl, keys, `the key "${keys.meta}" holds something that is not gpupool's queue marker`);
    }
    throw err;
  }
  if (marker.schema === undefined) return false;
  if (marker.schema !== String(CLUSTER_SCHEMA)) {
    throw versionError(maskedUrl, keys, `they were made by gpupool ${marker.createdBy ?? '(unknown)'} with queue schema ${marker.schema}`);
  }
  return true;
}

function versionError(maskedUrl: string, keys: ClusterKeys, why: string): GpupoolError {
  return new GpupoolError(
    'GPUPOOL_E_QUEUE_VERSION',
    `the queues at ${maskedUrl} under prefix "${keys.prefix}" cannot be used: ${why}; this gpupool ${gpupoolVersion()} speaks queue schema ${CLUSTER_SCHEMA}`,
    { details: { prefix: keys.prefix, expected: CLUSTER_SCHEMA } },
  );
}
