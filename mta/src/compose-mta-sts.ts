// Part of the MTA's composition (main.ts): the MTA-STS policies our policy server serves
// (mta-sts/policy-server.ts), by policy host, each with its domain's certificate; built once per
// bundle object (a reload brings a new one).
import type { LoadedBundle } from './config/watch-bundle.ts';
import { policyHostOf, type ServedPolicy } from './mta-sts/policy-server.ts';

const policiesOf = new WeakMap<LoadedBundle['bundle'], ReadonlyMap<string, ServedPolicy>>();
export function servedPolicies(config: LoadedBundle): ReadonlyMap<string, ServedPolicy> {
  let map = policiesOf.get(config.bundle);
  if (!map) {
    map = new Map(
      config.bundle.domains.flatMap((d) =>
        d.mtaSts
          ? [
              [
                policyHostOf(d.domain),
                {
                  text: d.mtaSts.policy,
                  tls: d.tls ? (config.secrets.tlsCertificates[d.tls.secretName] ?? null) : null,
                },
              ] as const,
            ]
          : [],
      ),
    );
    policiesOf.set(config.bundle, map);
  }
  return map;
}
