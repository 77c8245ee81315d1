// One keep-alive connection pool for every API request and watch (docs/performance.md,
// "Operator at scale").
//
// client-node 2.x sets an undici dispatcher on every request context in
// KubeConfig.applySecurityAuthentication, and builds it anew each time (the private
// createDispatcher in dist/config.js: `new Agent({ connect: { ca, cert, key, keepAlive } })`).
// Every request and every watch therefore opened its own TLS connection, and each left an
// Agent with an idle keep-alive socket behind until the server closed it: at 10,000
// Mailboxes that was tens of thousands of handshakes and hundreds of MiB of pools.
//
// shareOneDispatcher replaces that method on one KubeConfig with one that keeps the
// dispatcher it built and hands it out again while the TLS material is the same. When the
// material changes (a rotated client certificate file is read again per request), a new one
// is built and the old one closed once its requests finish, so there is never more than one.
import { createHash } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { KubeConfig } from '@kubernetes/client-node';

interface Closable {
  close?: () => Promise<void>;
}
type DispatcherFactory = (cluster: { name?: string; server?: string } | null, agentOptions: Record<string, unknown>) => Closable | undefined;

const shared = Symbol('stafette.sharedDispatcher');

/** What decides a dispatcher: the server and the TLS material client-node copies into its options. */
export function dispatcherKey(cluster: { name?: string; server?: string } | null, agentOptions: Record<string, unknown>): string {
  const hash = createHash('sha256');
  hash.update(cluster?.server ?? '').update('\0');
  for (const field of ['ca', 'cert', 'key', 'pfx', 'passphrase', 'servername', 'rejectUnauthorized']) {
    const value = agentOptions[field];
    hash.update(field).update('=');
    if (value !== undefined) hash.update(Buffer.isBuffer(value) ? value : JSON.stringify(value));
    hash.update('\0');
  }
  return hash.digest('hex');
}

/** Makes every API client made from `kc` (and its watches) share one keep-alive dispatcher. Idempotent. */
export function shareOneDispatcher(kc: KubeConfig): void {
  const target = kc as unknown as { createDispatcher: DispatcherFactory; [shared]?: true };
  if (target[shared]) return;
  const build = target.createDispatcher.bind(kc);
  let current: { key: string; dispatcher: Closable | undefined } | undefined;
  target.createDispatcher = (cluster, agentOptions) => {
    const key = dispatcherKey(cluster, agentOptions);
    if (current?.key === key) return current.dispatcher;
    const previous = current?.dispatcher;
    current = { key, dispatcher: build(cluster, agentOptions) };
    // close() waits for the requests in flight (watches end when the informer restarts them).
    previous?.close?.().catch(() => {});
    return current.dispatcher;
  };
  target[shared] = true;
}

/**
 * Counts the HTTP connections opened and requests sent by this process's undici clients
 * (client-node's and fetch's publish on the same diagnostics channels); returns the unsubscribe.
 */
export function countHttp(onConnect: () => void, onRequest: () => void): () => void {
  const connected = () => onConnect();
  const created = () => onRequest();
  subscribe('undici:client:connected', connected);
  subscribe('undici:request:create', created);
  return () => {
    unsubscribe('undici:client:connected', connected);
    unsubscribe('undici:request:create', created);
  };
}
