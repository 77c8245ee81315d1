// Plain HTTPS requests to a harness API server, as a client certificate or a bearer
// token. kubectl covers most tests; this is for readiness probes and for requests made
// with a ServiceAccount token, where kubectl's kubeconfig (which carries the admin
// client certificate, and x509 authentication wins) would hide the token.
import { request } from 'node:https';
import { readFileSync } from 'node:fs';

export type KubeCredentials = { readonly certFile: string; readonly keyFile: string } | { readonly token: string };

export interface KubeEndpoint {
  readonly url: string;
  readonly caFile: string;
}

export interface KubeResponse {
  readonly status: number;
  readonly body: string;
}

export interface KubeRequest {
  readonly method?: string;
  readonly path: string;
  /** Sent as JSON. */
  readonly body?: unknown;
  /** Extra headers, e.g. Impersonate-User. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

export async function kubeRequest(
  endpoint: KubeEndpoint,
  credentials: KubeCredentials,
  { method = 'GET', path, body, headers: extra = {}, timeoutMs = 10_000 }: KubeRequest,
): Promise<KubeResponse> {
  const headers: Record<string, string> = { accept: 'application/json', ...extra };
  const tls: { cert?: Buffer; key?: Buffer } = {};
  if ('token' in credentials) headers.authorization = `Bearer ${credentials.token}`;
  else {
    tls.cert = readFileSync(credentials.certFile);
    tls.key = readFileSync(credentials.keyFile);
  }
  const payload = body === undefined ? undefined : JSON.stringify(body);
  if (payload !== undefined) headers['content-type'] = 'application/json';
  return await new Promise((resolve, reject) => {
    // agent: false, so no keep-alive socket outlives the request (or the server).
    const req = request(
      new URL(path, endpoint.url),
      {
        method,
        headers,
        ca: readFileSync(endpoint.caFile),
        ...tls,
        agent: false,
        timeout: timeoutMs,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}
