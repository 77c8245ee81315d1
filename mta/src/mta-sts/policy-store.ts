// Outbound MTA-STS policies (RFC 8461), fetched and cached once for every MTA pod.
//
// Discovery and fetching are mailauth's getPolicy(): the `_mta-sts.<domain>` TXT record gives
// the policy id; the policy file comes from https://mta-sts.<domain>/.well-known/mta-sts.txt
// (certificate verified against the process trust store: outbound-tls/trust-store.ts), and is
// kept until its max_age passes; a changed id means a new policy, fetched again; while a
// fetch fails, a cached policy that has not expired stays in force (§5.1). We add the sharing:
// the policy mailauth returns is stored in a JetStream key-value bucket, one key per domain,
// so every pod reads the policy any pod fetched, and a fleet of pods costs the domain one
// fetch per policy id, not one per pod. A pod asks the bucket before every MX delivery and
// hands mailauth what it finds; mailauth then only checks the TXT id (through the DNS cache)
// and fetches the file only when the id changed or the cached policy expired.
//
// Two pods that find no cached policy at the same moment both fetch; the last write wins.
// Harmless: both fetched the same file.
//
// Bucket: `stafette_mta_sts`, key = the domain (A-label), value = PolicyEntry as JSON.
import type { KV } from '@nats-io/kv';
import { getPolicy } from 'mailauth/lib/mta-sts.js';
import type { MTASTSPolicy } from 'mailauth';
import type { StsPolicy } from '../outbound-tls/tls-requirements.ts';

export const policyBucket = 'stafette_mta_sts';

/** What the bucket holds for a domain. */
export interface PolicyEntry {
  readonly v: 1;
  /** mailauth's policy object (id, mode, mx, maxAge, expires), as the next getPolicy() wants it. */
  readonly policy: StoredPolicy;
  /** ISO time of the last fetch or renewal by any pod. */
  readonly checkedAt: string;
}

export interface StoredPolicy {
  readonly id: string | false;
  readonly mode: 'enforce' | 'testing' | 'none';
  readonly mx?: readonly string[];
  readonly maxAge?: number;
  readonly expires?: string;
}

/** A domain's policy for one delivery, and how it was obtained. */
export interface PolicyLookup {
  /** null: the domain has no policy in force. */
  readonly policy: StsPolicy | null;
  /** The policy text as RFC 8460 wants it in a report ("version: STSv1", "mode: ...", ...). */
  readonly policyLines: readonly string[];
  readonly outcome: FetchOutcome;
  /** Why the fetch failed (the cached policy, if any, still applies). */
  readonly error: string | null;
}

/** mailauth's statuses, for the metrics: found (fetched), renewed (cache confirmed), not_found, errored. */
export type FetchOutcome = 'found' | 'renewed' | 'not_found' | 'errored';

export type FetchPolicy = (domain: string, known: StoredPolicy | null) => Promise<{ policy: MTASTSPolicy; status: FetchOutcome }>;

export interface PolicyStoreOptions {
  /** The shared bucket (openPolicyBucket), or an in-memory stand-in in unit tests. */
  readonly kv: Pick<KV, 'get' | 'put'>;
  readonly fetch: FetchPolicy;
  readonly now?: () => number;
  readonly observer?: { fetched(outcome: FetchOutcome): void };
}

export interface PolicyStore {
  policyFor(domain: string): Promise<PolicyLookup>;
}

/** mailauth's getPolicy through our resolver (the DNS cache), with its HTTPS limits. */
export function mailauthFetch(resolver: (name: string, type: string) => Promise<unknown>, timeoutMs = 30_000): FetchPolicy {
  return async (domain, known) => {
    const result = await getPolicy(domain, (known ?? null) as MTASTSPolicy | null, { resolver: resolver as never, timeout: timeoutMs });
    return { policy: result.policy, status: result.status };
  };
}

export function createPolicyStore(options: PolicyStoreOptions): PolicyStore {
  const now = options.now ?? Date.now;
  return {
    async policyFor(domain) {
      const key = domain.toLowerCase().replace(/\.$/, '');
      const known = await readEntry(options.kv, key);
      const { policy, status } = await options.fetch(key, known?.policy ?? null);
      options.observer?.fetched(status);
      const stored = storable(policy);
      // Write what changed (a new policy, a retry placeholder, a renewal of an old check).
      if (status !== 'renewed' || !known) {
        await options.kv.put(kvKey(key), JSON.stringify({ v: 1, policy: stored, checkedAt: new Date(now()).toISOString() } satisfies PolicyEntry));
      }
      const inForce = stored.mode !== 'none' && stored.mx && stored.mx.length > 0 ? { mode: stored.mode, mx: stored.mx } : null;
      return {
        policy: inForce,
        policyLines: policyLinesOf(stored),
        outcome: status,
        error: policy.error ? String(policy.error.message ?? policy.error) : null,
      };
    },
  };
}

/** Opens (creating if needed) the shared bucket; replicas as the queue's streams have. */
export async function openPolicyBucket(kvm: { create(name: string, opts?: object): Promise<KV> }, replicas: number): Promise<KV> {
  return await kvm.create(policyBucket, { history: 1, replicas });
}

/** RFC 8460 §4.4 policy-string: the policy file's lines. */
export function policyLinesOf(policy: StoredPolicy): string[] {
  if (policy.mode === 'none' && !policy.mx?.length) return [];
  return ['version: STSv1', `mode: ${policy.mode}`, ...(policy.mx ?? []).map((m) => `mx: ${m}`), `max_age: ${policy.maxAge ?? 0}`];
}

// KV keys may hold letters, digits, "-", "_", "=", "." and "/": a domain fits as it is.
function kvKey(domain: string): string {
  return domain.replace(/[^A-Za-z0-9._-]/g, '_');
}

async function readEntry(kv: Pick<KV, 'get'>, domain: string): Promise<PolicyEntry | null> {
  const entry = await kv.get(kvKey(domain));
  if (!entry || entry.operation !== 'PUT' || entry.length === 0) return null;
  try {
    const parsed = JSON.parse(entry.string()) as PolicyEntry;
    return parsed.v === 1 && parsed.policy && typeof parsed.policy.mode === 'string' ? parsed : null;
  } catch {
    return null; // a damaged entry is fetched again
  }
}

function storable(p: MTASTSPolicy): StoredPolicy {
  return {
    id: p.id ?? false,
    mode: p.mode,
    ...(p.mx ? { mx: [...p.mx] } : {}),
    ...(typeof p.maxAge === 'number' ? { maxAge: p.maxAge } : {}),
    ...(p.expires ? { expires: p.expires } : {}),
  };
}
