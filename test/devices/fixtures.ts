import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Absolute path of a file under test/fixtures/devices. */
export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../fixtures/devices/${name}`, import.meta.url));
}

export function fixture(name: string): string {
  return readFileSync(fixturePath(name), 'utf8');
}

export const MIB = 1024 * 1024;
export const GIB = 1024 * MIB;
