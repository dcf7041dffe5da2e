import net from 'node:net';
import type { Finding } from './doctor-finding.js';

/** A port something will listen on, and who asked for it. */
export interface PortToCheck {
  readonly port: number;
  /** @defaultValue `0.0.0.0`, which collides with a listener on any address */
  readonly host?: string;
  /** `--port`, `model "llm" replica 1`. */
  readonly for: string;
}

/** Tries to listen on each port for a moment: one taken now will fail at start. */
export async function checkPorts(ports: readonly PortToCheck[]): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const p of ports) {
    const host = p.host ?? '0.0.0.0';
    const problem = await tryListen(p.port, host);
    if (!problem) {
      findings.push({ check: 'ports', level: 'ok', message: `port ${p.port} (${p.for}) is free on ${host}` });
    } else if (problem === 'EADDRINUSE') {
      findings.push({
        check: 'ports',
        level: 'error',
        message: `port ${p.port} (${p.for}) is taken on ${host}`,
        fix: `Find who holds it with \`ss -ltnp 'sport = :${p.port}'\` and stop it, or choose another port.`,
      });
    } else if (problem === 'EACCES') {
      findings.push({ check: 'ports', level: 'error', message: `port ${p.port} (${p.for}) needs privileges to listen on`, fix: 'Use a port ≥ 1024.' });
    } else {
      findings.push({ check: 'ports', level: 'error', message: `port ${p.port} (${p.for}) on ${host}: ${problem}`, fix: 'Check the host address and port.' });
    }
  }
  return findings;
}

function tryListen(port: number, host: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}
