import net from 'node:net';

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
