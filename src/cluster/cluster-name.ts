import { GpupoolError } from '../errors/index.js';
import { NAME_PATTERN } from './cluster-keys.js';

/**
 * A name given on the command line that ends up in Redis keys, queue and connection names and
 * folder names (`--job`, `--prefix`, an agent's `--name`): refused here, with what is allowed,
 * rather than by Redis (a client name with a space), the file system (a name with a slash makes
 * nested folders) or a key another prefix would read (`a:b`).
 */
export function checkName(value: string, flag: string): string {
  if (!NAME_PATTERN.test(value)) {
    throw new GpupoolError('GPUPOOL_E_USAGE', `${flag} must be 1 to 64 letters, digits, "_", "." or "-", got ${JSON.stringify(value)}`);
  }
  return value;
}
