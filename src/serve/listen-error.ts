import { GpupoolError } from '../errors/index.js';

/** `host:port`, an IPv6 address in brackets (`[::1]:8000`), as a URL writes it. */
export function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * Why `serve` could not listen on `--host`/`--port`, as a usage error that names both and the
 * cause: these come from the flags or from the machine, not from a bug in gpupool. An error of
 * another kind is returned as it is.
 */
export function listenError(err: unknown, host: string, port: number): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const where = `cannot listen on ${hostPort(host, port)}`;
  switch (code) {
    case 'EADDRINUSE':
      return new GpupoolError('GPUPOOL_E_USAGE', `${where}: port ${port} is taken by another process (EADDRINUSE); choose another --port (0 picks a free one), or stop the process that holds it (\`ss -ltnp 'sport = :${port}'\` names it)`, { cause: err });
    case 'EACCES':
      return new GpupoolError('GPUPOOL_E_USAGE', `${where}: port ${port} needs privileges this process lacks (EACCES); choose a --port of 1024 or more`, { cause: err });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
      return new GpupoolError('GPUPOOL_E_USAGE', `${where}: --host "${host}" does not resolve to an address (${code}); give an address of this machine (127.0.0.1, ::1, or 0.0.0.0 for every interface) or a name that resolves to one`, { cause: err });
    case 'EADDRNOTAVAIL':
      return new GpupoolError('GPUPOOL_E_USAGE', `${where}: ${host} is not an address of this machine (EADDRNOTAVAIL); give one of its own addresses (127.0.0.1, ::1, or 0.0.0.0 for every interface)`, { cause: err });
    default:
      return err;
  }
}
