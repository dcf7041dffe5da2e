import { createHash } from 'node:crypto';
import path from 'node:path';
import type { GpupoolConfig, ModelConfig } from '../config/index.js';
import type { JobIdentity } from '../store/index.js';
import type { InputSource } from './sources/index.js';

/**
 * Same model command, same input, same shard → same job: the journal may be resumed. Batch
 * sizes and devices are left out on purpose: changing them must not lose a night's work. The
 * input is compared by its identity (`inputIdentity`: a JSONL file's real path, size and modification
 * time), not by the path given (`input`, relative to wherever the command ran).
 */
export function jobIdentity(config: GpupoolConfig, model: ModelConfig, source: InputSource, output: string, shard?: { index: number; count: number }): JobIdentity {
  const description = {
    model: model.name,
    command: model.command,
    config: config.file ?? '(inline)',
    input: source.description,
    inputIdentity: source.identity,
    output: path.resolve(output),
    shard: shard ? `${shard.index}/${shard.count}` : undefined,
  };
  const fingerprint = createHash('sha256')
    .update(JSON.stringify([model.name, model.command, source.identity, description.shard ?? null]))
    .digest('hex');
  return { fingerprint, description, compared: ['model', 'command', 'inputIdentity', 'shard'] };
}
