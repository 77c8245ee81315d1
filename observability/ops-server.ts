// The operations endpoint of every Stafette process (the MTA and the operator), apart from
// the ports it serves: /healthz (liveness: the process serves requests), /readyz (readiness,
// as the process judges it: mta/src/ops/pod-readiness.ts, the operator's synced caches) and
// /metrics (Prometheus). Plain text answers, so `curl` and the kubelet both read them.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What /readyz answers: 200 when ready, else 503 with one line per reason. */
export interface ReadinessState {
  readonly ready: boolean;
  /** One sentence per reason for not being ready; empty when ready. */
  readonly reasons: string[];
}

/** Bind address: every interface, so the kubelet and Prometheus can reach it. */
export const defaultOpsHost = '0.0.0.0';
/** Port of /healthz, /readyz and /metrics. */
export const defaultOpsPort = 9090;

export interface OpsServerOptions {
  /** Bind address (default defaultOpsHost). */
  readonly host?: string;
  /** Port (default defaultOpsPort); 0 picks a free one. */
  readonly port?: number;
  readonly readiness: () => Promise<ReadinessState>;
  readonly metrics: () => Promise<{ contentType: string; text: string }>;
  /** Called when a handler fails (the response is a 500 either way). */
  readonly onError?: (path: string, err: unknown) => void;
}

export interface OpsServer {
  /** The port actually bound. */
  readonly port: number;
  close(): Promise<void>;
}

export async function startOpsServer(opts: OpsServerOptions): Promise<OpsServer> {
  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      opts.onError?.(req.url ?? '', err);
      if (!res.headersSent) reply(res, 500, 'internal error\n');
      else res.destroy();
    });
  });
  // Probes and scrapes are short requests; an idle keep-alive must not delay shutdown.
  server.keepAliveTimeout = 5_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://ops').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'method not allowed\n');
    switch (path) {
      case '/healthz':
        return reply(res, 200, 'ok\n');
      case '/readyz': {
        const state = await opts.readiness();
        return state.ready ? reply(res, 200, 'ready\n') : reply(res, 503, `not ready:\n${state.reasons.map((r) => `- ${r}\n`).join('')}`);
      }
      case '/metrics': {
        const { contentType, text } = await opts.metrics();
        return reply(res, 200, text, contentType);
      }
      default:
        return reply(res, 404, 'not found: try /healthz, /readyz or /metrics\n');
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? defaultOpsPort, opts.host ?? defaultOpsHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      server.closeIdleConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function reply(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(body);
}
