import { createHash } from 'node:crypto';
import path from 'node:path';
import type { GpupoolConfig, ModelConfig } from '../config/index.js';
import type { JobIdentity } from '../store/index.js';
import { describeShard, type Shard } from './shard.js';
import type { InputSource } from './sources/index.js';

/**
 * Same model command, same input, same shard → same job: the journal may be resumed. Batch
 * sizes and devices are left out on purpose: changing them must not lose a night's work. The
 * input is compared by its identity (`inputIdentity`: a JSONL file's or a folder's real path),
 * not by the path given (`input`, relative to wherever the command ran), and by its state where
 * known (`inputState`: a file's size and modification time, a folder's listing), since items are
 * resumed by position.
 *
 * `key`, without the state, names the job (in Redis): an edited input finds its journal there
 * and is refused. It is also the fingerprint gpupool gave a job before it recorded the state,
 * so a journal made then is still resumed (and takes the new fingerprint). A journal made since
 * never holds the key: its fingerprint always hashes the state, "none" included (a pipe), so a
 * pipe's journal is not taken over by a file's run. A folder or glob has a state (its listing)
 * since a later version: a journal made before, fingerprinted with none, is still resumed. A
 * folder whose new files all sort after the old ones continues its journal (`continues`), and so
 * does a JSONL file that only gained lines after its last (checked against the digest of its bytes
 * that a run kept in the journal).
 */
export function jobIdentity(config: GpupoolConfig, model: ModelConfig, source: InputSource, output: string, shard?: Shard, remapIn?: string): JobIdentity {
  const description = {
    model: model.name,
    command: model.command,
    config: config.file ?? '(inline)',
    input: source.description,
    inputIdentity: source.identity,
    inputState: source.state,
    output: path.resolve(output),
    shard: shard ? describeShard(shard) : undefined,
  };
  const hash = (parts: unknown[]) => createHash('sha256').update(JSON.stringify(parts)).digest('hex');
  const keyOf = (identity: string) => hash([model.name, model.command, identity, description.shard ?? null]);
  const stated = (identity: string, state: string | null) => hash([model.name, model.command, identity, description.shard ?? null, state]);
  const key = keyOf(source.identity);
  const withState = (state: string | null) => stated(source.identity, state);
  // The fingerprints earlier gpupools gave this job: before any state (the key), before a folder
  // had a listing (no state), and under the identity an input had before (a folder by its path as given).
  const identities = source.formerIdentity === undefined || source.formerIdentity === source.identity ? [source.identity] : [source.identity, source.formerIdentity];
  const formerFingerprints = identities.flatMap((identity) => [
    keyOf(identity),
    ...(source.formerlyStateless ? [stated(identity, null)] : []),
    ...(identity === source.identity ? [] : [stated(identity, source.state ?? null)]),
  ]);
  return {
    fingerprint: withState(source.state ?? null),
    description,
    compared: ['model', 'command', 'inputIdentity', 'inputState', 'shard'],
    key,
    formerFingerprints,
    continues: grownFrom(source, withState),
    // By position, a shard's files are those whose place in the whole folder is its own: moved, they would be another's.
    remap: remapIn === undefined || (shard !== undefined && shard.by !== 'name') ? undefined : remappedFrom(source, remapIn, withState),
  };
}

/**
 * `JobIdentity.remap` for a source that keeps its listing in the state dir `stateDir` (a folder):
 * the stored description names the state of then, and the stored fingerprint must be this
 * job's with it.
 */
function remappedFrom(source: Pick<InputSource, 'remapFrom'>, stateDir: string, withState: (state: string) => string): JobIdentity['remap'] {
  if (source.remapFrom === undefined) return undefined;
  return (storedFingerprint, storedDescription) => {
    const former = storedDescription.inputState;
    if (typeof former !== 'string' || withState(former) !== storedFingerprint) return undefined;
    return source.remapFrom!(stateDir, former);
  };
}

/**
 * `JobIdentity.continues` for a source that can tell whether it grew from an earlier state: the
 * stored description names that state, and the stored fingerprint must be this job's with it.
 */
export function grownFrom(source: Pick<InputSource, 'continues'>, withState: (state: string) => string): JobIdentity['continues'] {
  if (source.continues === undefined) return undefined;
  return (storedFingerprint, storedDescription, storedMeta) => {
    const former = storedDescription.inputState;
    return typeof former === 'string' && withState(former) === storedFingerprint && source.continues!(former, storedMeta);
  };
}
