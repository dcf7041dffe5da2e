import { GpupoolError } from '../../errors/index.js';
import type { ServedModelInfo } from './server-client.js';

/**
 * The model `gpupool infer` sends to, from the server's own list: the one given with -m, or
 * the server's only model. Checked here, before any input is sent: a `kind: http` model has no
 * /infer of gpupool's (its own server's routes are proxied as they are), so infer does not
 * apply to it, and its server's own 404 would say nothing about why.
 */
export function chooseInferModel(models: readonly ServedModelInfo[], requested: string | undefined, url: string): ServedModelInfo {
  const names = models.map((m) => m.name).join(', ');
  if (requested === undefined && models.length !== 1) {
    throw new GpupoolError('GPUPOOL_E_MODEL_REQUIRED', `the server at ${url} runs several models (${names}): choose one with -m`);
  }
  const model = requested === undefined ? models[0] : models.find((m) => m.name === requested);
  if (!model) throw new GpupoolError('GPUPOOL_E_UNKNOWN_MODEL', `unknown model "${requested}"; the server at ${url} runs: ${names}`);
  if (model.kind === 'http') {
    const inferable = models.filter((m) => m.kind !== 'http').map((m) => m.name);
    throw new GpupoolError(
      'GPUPOOL_E_USAGE',
      `model "${model.name}" is \`kind: http\`: gpupool infer does not apply to it (it feeds gpupool's batcher, which serves \`kind: process\` models${inferable.length > 0 ? `: ${inferable.join(', ')}` : ''}); call its own server's routes, proxied at ${url}/v1/models/${model.name}/<path>`,
    );
  }
  return model;
}

/** Inputs per request when the server names no lower bound: well under its default --max-inputs (4096). */
const DEFAULT_INPUTS_PER_REQUEST = 1024;

/**
 * How many inputs each request of `gpupool infer` carries: within the server's --max-inputs (a
 * larger request is a 400) and the model's --max-queued (a request larger than what it ever
 * queues is a 400 too), and at most 1,024. Requests go one after another, so each finds the
 * queue holding none of this command's earlier inputs.
 */
export function inputsPerRequest(model: ServedModelInfo, maxInputs: number | undefined): number {
  const queued = Number.isInteger(model.maxQueued) && model.maxQueued >= 1 ? model.maxQueued : Infinity;
  return Math.min(DEFAULT_INPUTS_PER_REQUEST, maxInputs ?? Infinity, queued);
}
