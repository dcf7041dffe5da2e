import net from 'node:net';
import { GpupoolError } from '../errors/index.js';

/**
 * A TCP port nothing listens on right now, from the kernel (listen on 0, then close). Another
 * process could take it before the replica binds it; the replica then fails its health
 * check and is restarted on a fresh port.
 */
export function pickFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Refuses a fixed port (`http.port_base`) that something listens on already: its health path
 * may answer for our server, which then dies on its bind while the other process takes our
 * requests (seen with a server left over from an earlier run). GPUPOOL_E_REPLICA_START naming it,
 * a start failure like any other (the crash-loop guard counts it).
 */
export async function assertPortFree(host: string, port: number, replica: string): Promise<void> {
  const taken = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const server = net.createServer();
    server.unref();
    server.on('error', (err: NodeJS.ErrnoException) => resolve(err));
    server.listen(port, host, () => server.close(() => resolve(undefined)));
  });
  if (taken === undefined) return;
  const why = taken.code === 'EADDRINUSE' ? 'another process listens there (a server left from an earlier run?)' : `it cannot be bound (${taken.code ?? taken.message})`;
  throw new GpupoolError('GPUPOOL_E_REPLICA_START', `replica ${replica} cannot start on port ${port} of ${host} (http.port_base + its index): ${why}; stop that process or choose another http.port_base`);
}
