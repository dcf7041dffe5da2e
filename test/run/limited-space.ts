/**
 * A folder where writes run out of room for real, for the disk-full tests: a small tmpfs
 * mounted there when this process may mount (root, CAP_SYS_ADMIN), where a write past the
 * size fails with ENOSPC; otherwise RLIMIT_FSIZE on the gpupool process (`ulimit -f`), where a
 * write past the size fails with EFBIG. Either way the failing write is the kernel's own.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CLI, ROOT, type CliResult } from '../helpers/cli.js';

export interface LimitedSpace {
  /** `tmpfs`: ENOSPC when the folder is full; `fsize`: EFBIG when any file the CLI writes passes the size. */
  readonly kind: 'tmpfs' | 'fsize';
  /** Put the files that should run out of room under this folder. */
  readonly dir: string;
  /** The CLI, under the limit until `makeRoom()`, with `env` added to this process's environment. */
  run(args: string[], env?: NodeJS.ProcessEnv): Promise<CliResult>;
  /** Lifts the limit: the next run has room. */
  makeRoom(): void;
  /** Unmounts (tmpfs); call from t.after / finally. */
  dispose(): void;
}

function canMount(dir: string, bytes: number): boolean {
  // GPUPOOL_TEST_NO_MOUNT=1 tries, as root, the fallback that CI without mount rights takes.
  if (process.getuid?.() !== 0 || process.env.GPUPOOL_TEST_NO_MOUNT === '1') return false;
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { encoding: 'utf8' });
  return r.status === 0;
}

function runCli(args: string[], fsizeKiB: number | undefined, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  // bash's `ulimit -f` counts KiB; exec keeps the limit on the node process itself.
  const argv = fsizeKiB === undefined ? [CLI, ...args] : ['-c', `ulimit -f ${fsizeKiB} && exec "$0" "$@"`, process.execPath, CLI, ...args];
  const child = spawn(fsizeKiB === undefined ? process.execPath : 'bash', argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

/**
 * `bytes` of room under `parent/space`: a tmpfs of that size (unless `fsize` is asked for, or
 * mounting is not allowed here), else a file-size limit of that size.
 */
export function limitedSpace(parent: string, bytes: number, prefer: 'tmpfs' | 'fsize' = 'tmpfs'): LimitedSpace {
  const dir = path.join(parent, 'space');
  fs.mkdirSync(dir, { recursive: true });
  if (prefer === 'tmpfs' && canMount(dir, bytes)) {
    let mounted = true;
    return {
      kind: 'tmpfs',
      dir,
      run: (args, env) => runCli(args, undefined, env),
      makeRoom: () => {
        const r = spawnSync('mount', ['-o', 'remount,size=256m', dir], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`remount ${dir}: ${r.stderr}`);
      },
      dispose: () => {
        if (mounted) spawnSync('umount', ['-l', dir]);
        mounted = false;
      },
    };
  }
  let limitKiB: number | undefined = Math.max(1, Math.floor(bytes / 1024));
  return {
    kind: 'fsize',
    dir,
    run: (args, env) => runCli(args, limitKiB, env),
    makeRoom: () => {
      limitKiB = undefined;
    },
    dispose: () => undefined,
  };
}
