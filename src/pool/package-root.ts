import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The folder holding gpupool's own files (sdk/python…), from src, dist or a bundle alike. */
export function packageRoot(): string {
  if (cached) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(dir, 'sdk', 'python', 'gpupool'))) return (cached = dir);
    const parent = path.dirname(dir);
    if (parent === dir) return (cached = process.cwd());
    dir = parent;
  }
}

/** Where the Python SDK lives, put on workers' PYTHONPATH so `import gpupool` needs no install. */
export function pythonSdkPath(): string {
  return path.join(packageRoot(), 'sdk', 'python');
}
