// /healthz (the process works), /readyz (caches synced and leading or standing by) and
// /metrics, on one small HTTP server.
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface HealthServer {
  port(): number;
  close(): Promise<void>;
}

export async function startHealthServer(options: { host: string; port: number; registry: Registry; ready: () => { ready: boolean; reason: string } }): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const state = options.ready();
      res.writeHead(state.ready ? 200 : 503, { 'content-type': 'text/plain' }).end(`${state.reason}\n`);
    } else if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': options.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: () => {
      const address = server.address();
      return typeof address === 'object' && address ? address.port : options.port;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
