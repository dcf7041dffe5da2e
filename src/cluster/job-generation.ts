import { randomBytes } from 'node:crypto';
import type { JobStore } from '../store/index.js';
import type { ClusterJob } from './cluster-job.js';

/** The journal's meta key holding the generation it last took results under. */
export const GENERATION_META = 'clusterGeneration';

/**
 * A job's chunks and results in Redis belong to one submission generation, named in every
 * chunk id (chunk-ids.ts). A submit carries on the registered generation only where its
 * journal took results under it too: then what Redis holds of the job is what that journal
 * expects (a killed submitter's chunks and the results agents sent since). Otherwise (`--fresh`,
 * a journal made anew or by an older gpupool, a job registered before generations were kept)
 * it starts a new one, and the caller deletes what Redis holds of the job; the results agents
 * still send for chunks they held from before (of an input since edited) name the old
 * generation and are dropped.
 */
export async function chooseGeneration(registered: ClusterJob | undefined, journal: JobStore, fresh: boolean): Promise<{ generation: string; carriedOn: boolean }> {
  const current = registered?.generation;
  if (!fresh && current !== undefined && (await journal.status()).meta[GENERATION_META] === current) return { generation: current, carriedOn: true };
  return { generation: randomBytes(4).toString('hex'), carriedOn: false };
}
