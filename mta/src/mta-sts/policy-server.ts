// Our own MTA-STS policies, served (RFC 8461 §3.3): https://mta-sts.<domain>/.well-known/mta-sts.txt
// for every domain of the bundle whose policy is published, from one HTTPS listener of the MTA.
//
//  - TLS: the certificate is chosen by SNI: `mta-sts.<domain>` gets that domain's certificate
//    (the operator puts the name into the domain's Certificate); a client without SNI, or
//    asking for a name we do not serve, gets the fallback certificate (and will not trust it,
//    which is right: senders must verify the policy host, RFC 8461 §3.3).
//  - HTTP: the policy is chosen by the Host header (SNI when there is none): `mta-sts.<domain>`
//    of a served domain → 200, text/plain, the policy text from the bundle; anything else
//    404; methods other than GET and HEAD 405. No redirects (§3.3: senders do not follow them).
// The map of policies is read per request, so a bundle reload applies at once.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Logger } from '../../../observability/logger.ts';

export interface ServedPolicy {
  /** The policy file (RFC 8461 §3.2). */
  readonly text: string;
  /** The certificate for mta-sts.<domain>, when the domain has one. */
  readonly tls: { readonly certPem: string; readonly keyPem: string } | null;
}

export interface PolicyServerOptions {
  readonly host?: string;
  /** Default 8443 (the chart's Service maps 443 to it). */
  readonly port?: number;
  /** `mta-sts.<domain>` (lowercase) → what to serve there. */
  readonly policies: () => ReadonlyMap<string, ServedPolicy>;
  readonly fallbackTls: { readonly certPem: string; readonly keyPem: string };
  readonly logger: Logger;
  /** One call per request: served, not_found, bad_method. */
  readonly observer?: (outcome: 'served' | 'not_found' | 'bad_method') => void;
}

export interface PolicyServer {
  readonly port: number;
  close(): Promise<void>;
}

export const policyPath = '/.well-known/mta-sts.txt';

/** The listener's default port; the chart's Service maps 443 to it (the pod runs as non-root). */
export const defaultPolicyPort = 8443;

/** The policy host name of a domain. */
export function policyHostOf(domain: string): string {
  return `mta-sts.${domain}`;
}

export async function startPolicyServer(opts: PolicyServerOptions): Promise<PolicyServer> {
  const contexts = new WeakMap<object, SecureContext | null>();
  const contextOf = (material: { certPem: string; keyPem: string }, name: string): SecureContext | undefined => {
    let ctx = contexts.get(material);
    if (ctx === undefined) {
      try {
        ctx = createSecureContext({ cert: material.certPem, key: material.keyPem });
      } catch (err) {
        opts.logger.error('MTA-STS policy host certificate cannot be used; serving the fallback', { host: name, err });
        ctx = null;
      }
      contexts.set(material, ctx);
    }
    return ctx ?? undefined;
  };

  const server: Server = createServer(
    {
      cert: opts.fallbackTls.certPem,
      key: opts.fallbackTls.keyPem,
      minVersion: 'TLSv1.2',
      SNICallback: (servername, cb) => {
        const name = servername.toLowerCase().replace(/\.$/, '');
        const served = opts.policies().get(name);
        cb(null, served?.tls ? contextOf(served.tls, name) : undefined);
      },
    },
    (req, res) => handle(req, res),
  );
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  // A client that resets mid-handshake must not end the process (cf. docs/reliability.md F11).
  server.on('tlsClientError', (err) => opts.logger.debug('MTA-STS policy TLS handshake failed', { err }));

  function handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      opts.observer?.('bad_method');
      return reply(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
    }
    const sni = (req.socket as { servername?: string | false }).servername;
    const host = (req.headers.host ?? (typeof sni === 'string' ? sni : '')).toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '');
    const path = (req.url ?? '/').split('?')[0];
    const served = path === policyPath ? opts.policies().get(host) : undefined;
    if (!served) {
      opts.observer?.('not_found');
      return reply(res, 404, 'no MTA-STS policy here\n');
    }
    opts.observer?.('served');
    reply(res, 200, served.text, {}, req.method === 'HEAD');
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? defaultPolicyPort, opts.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  opts.logger.info('MTA-STS policy server ready', { address: server.address() });
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      server.closeIdleConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function reply(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}, headOnly = false): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-cache', ...headers });
  res.end(headOnly ? undefined : body);
}
