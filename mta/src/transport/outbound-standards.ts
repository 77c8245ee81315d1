// What the mail standards decide for one remote delivery attempt, apart from the SMTP mechanics
// of remote-smtp.ts:
//
//  - Mail we pass on for someone else (it came in unauthenticated on MX, or is a forwarded copy):
//    a foreign envelope sender is rewritten with SRS at the forwarding domain (srs/), so the next
//    hop's SPF sees our domain; the copy is ARC-sealed with that domain's DKIM key
//    (sender-auth/arc-seal.ts), recording what we found at intake.
//  - Toward MX hosts: the recipient domain's MTA-STS policy (mta-sts/policy-store.ts, shared by
//    every pod), REQUIRETLS and TLS-Required: No (outbound-tls/tls-requirements.ts) decide which
//    hosts may be used and which sessions are good enough; every session to a domain that wants
//    TLS reports is counted for TLS-RPT (tls-report/).
//  - DSN: NOTIFY/ORCPT/RET/ENVID go on to a next hop that offers DSN (dsn/params.ts); whether it
//    did decides between no notice and a "relayed" one (dsn/notices.ts).
import type { BundleDomain } from '../../../bundle/schema.ts';
import { normalizeAddress } from '../../../bundle/address.ts';
import type { Logger } from '../../../observability/logger.ts';
import type { QueueRecord } from '../queue/record.ts';
import { mayVouchFor } from '../dkim/sign-policy.ts';
import { nextHopParams, parseRcptDsnParams } from '../dsn/params.ts';
import { mailDsnOf } from '../dsn/report.ts';
import type { PolicyLookup, PolicyStore } from '../mta-sts/policy-store.ts';
import {
  checkMxHost,
  checkRelay,
  checkSession,
  hasTlsRequiredNo,
  resultTypeOf,
  type HostVerdict,
  type MessageTlsDemands,
  type TlsFailure,
} from '../outbound-tls/tls-requirements.ts';
import { sealForwardedCopy } from '../sender-auth/arc-seal.ts';
import { forwardingSender } from '../srs/srs-policy.ts';
import type { TlsReportRecorder } from '../tls-report/report-store.ts';
import type { BundlePair } from './remote-smtp.ts';
import type { SmtpClientConnection } from './smtp-client.ts';

export interface OutboundStandards {
  /** Outbound MTA-STS policies; none: every MX delivery is opportunistic TLS. */
  readonly mtaSts?: PolicyStore;
  /** TLS-RPT: the counts, and whether a domain publishes a TLS-RPT record (through the DNS cache). */
  readonly tlsReports?: { readonly recorder: TlsReportRecorder; wants(domain: string): Promise<boolean> };
  readonly observer?: {
    tlsSession(policyType: 'sts' | 'no-policy-found', result: string): void;
    srs(operation: 'forward', result: 'ok'): void;
    policyFetch?(outcome: string): void;
  };
  readonly now?: () => number;
}

export interface AttemptStandards {
  /** MAIL FROM on the wire. */
  readonly from: string;
  /** The message to send (ARC-sealed when passed on for someone else). */
  readonly message: Buffer;
  readonly demands: MessageTlsDemands;
  /** The domain's MTA-STS policy (mx destinations), null: none in force. */
  readonly sts: PolicyLookup | null;
  hostVerdict(host: string): HostVerdict;
  /** After EHLO (and STARTTLS): may the message go over this session? Counts it for TLS-RPT. */
  checkConnection(host: string, address: string, verdict: HostVerdict & { ok: true }, connection: SmtpClientConnection): TlsFailure | null;
  /** Counts a host refused before connecting (MTA-STS: not an allowed MX). */
  reportRefusedHost(host: string, failure: TlsFailure): void;
  /** The MAIL and RCPT parameters for a next hop with these extensions. */
  envelopeParams(extensions: ReadonlySet<string>, recipients: readonly string[]): { mailParams: string[]; rcptParams: Map<string, string[]> };
}

/** Mail we did not author (MX-received unauthenticated, or a forwarded copy of such). */
export function passedOnForSomeoneElse(record: Pick<QueueRecord, 'listener' | 'client'>): boolean {
  return !mayVouchFor(record);
}

export async function planAttempt(
  record: QueueRecord,
  message: Buffer,
  destination: { kind: 'mx'; domain: string } | { kind: 'relay'; tls: 'starttls' | 'implicit' | 'none'; verify: boolean },
  config: BundlePair,
  standards: OutboundStandards,
  log: Logger,
): Promise<AttemptStandards> {
  const { bundle, secrets } = config;
  const isOurs = (d: string) => bundle.domains.some((x) => x.domain === d);
  const sender = record.envelope.mailFrom.address;
  let from = sender;
  let out = message;
  if (passedOnForSomeoneElse(record)) {
    const forwarder = forwardingDomain(record, bundle.domains);
    if (forwarder) {
      const rewritten = forwardingSender(sender, forwarder.domain, isOurs, { keys: secrets.srsKeys ?? [], ...(standards.now ? { now: standards.now } : {}) });
      if (rewritten !== sender) standards.observer?.srs('forward', 'ok');
      from = rewritten;
      const key = sealKeyOf(forwarder, secrets);
      if (key) {
        const sealed = await sealForwardedCopy(out, key, new Set([...bundle.domains.map((d) => d.hostname)]));
        if (sealed.error) log.warn('forwarded copy not ARC-sealed', { reason: sealed.error });
        out = sealed.message;
      }
    }
  }

  const mail = mailDsnOf(record);
  const demands: MessageTlsDemands = { requireTls: mail.requireTls, tlsRequiredNo: hasTlsRequiredNo(out) };
  const sts = destination.kind === 'mx' && standards.mtaSts ? await lookupPolicy(standards.mtaSts, destination.domain, log) : null;
  if (sts) standards.observer?.policyFetch?.(sts.outcome);
  const domain = destination.kind === 'mx' ? destination.domain : null;
  const wantsReport = domain && standards.tlsReports ? await standards.tlsReports.wants(domain) : false;

  // Sessions count under the domain's policy even when the sender waived it (TLS-Required: No).
  const policyType = sts?.policy ? ('sts' as const) : ('no-policy-found' as const);
  const count = (failure: { resultType: string; mx: string; ip: string } | null) => {
    standards.observer?.tlsSession(policyType, failure?.resultType ?? 'success');
    if (!domain || !wantsReport) return;
    standards.tlsReports!.recorder.record({
      policyDomain: domain,
      policyType,
      policyLines: sts?.policy ? sts.policyLines : [],
      mxPatterns: sts?.policy?.mx ?? [],
      failure: failure ? { resultType: failure.resultType as never, receivingMx: failure.mx, receivingIp: failure.ip, sendingIp: null } : null,
    });
  };

  return {
    from,
    message: out,
    demands,
    sts,
    hostVerdict: (host) =>
      destination.kind === 'relay'
        ? checkRelay({ tls: destination.tls, verifyCertificate: destination.tls !== 'none' && destination.verify }, demands)
        : checkMxHost(host, sts?.policy ?? null, demands),
    checkConnection(host, address, verdict, connection) {
      const peer = connection.peerVerification(host);
      const result = checkSession(host, verdict.requirement, {
        tls: connection.secure,
        verifyError: peer?.error ?? null,
        ...(peer?.code ? { verifyCode: peer.code } : {}),
        offersRequireTls: connection.extensions.has('REQUIRETLS'),
      });
      // Under a policy every session counts, its failure named; without one, TLS sessions count as
      // successes (certificates are not checked there, RFC 8460 §4.3 has nothing to name).
      const problem = !connection.secure ? 'starttls-not-supported' : peer?.error ? resultTypeOf(peer.code) : null;
      if (policyType === 'sts') count(problem ? { resultType: problem, mx: host, ip: address } : null);
      else if (connection.secure) count(null);
      return result.ok ? null : result.failure;
    },
    reportRefusedHost(host, failure) {
      if (failure.resultType) count({ resultType: failure.resultType, mx: host, ip: '' });
    },
    envelopeParams(extensions, recipients) {
      const mailParams: string[] = [];
      const rcptParams = new Map<string, string[]>();
      if (demands.requireTls && extensions.has('REQUIRETLS')) mailParams.push('REQUIRETLS');
      if (!extensions.has('DSN')) return { mailParams, rcptParams };
      for (const r of recipients) {
        const entry = record.envelope.rcptTo.find((x) => x.address === r);
        const rcpt = parseRcptDsnParams(entry?.params ?? []);
        const params = nextHopParams(mail, 'code' in rcpt ? { notify: null, orcpt: null } : rcpt, r);
        rcptParams.set(r, params.rcpt);
        if (mailParams.length === (demands.requireTls ? 1 : 0)) mailParams.push(...params.mail);
      }
      return { mailParams, rcptParams };
    },
  };
}

// The domain that passes the message on: the sender's, when it is ours already (a forward
// transport's copy carries an SRS address of ours); else the first of our domains among the
// original recipients (an alias to a remote address); else the first domain of the bundle.
function forwardingDomain(record: QueueRecord, domains: readonly BundleDomain[]): BundleDomain | undefined {
  const byName = (name: string | undefined) => (name ? domains.find((d) => d.domain === name) : undefined);
  return (
    byName(normalizeAddress(record.envelope.mailFrom.address)?.domain) ??
    record.envelope.rcptTo.map((r) => byName(normalizeAddress(r.address)?.domain)).find(Boolean) ??
    domains[0]
  );
}

function sealKeyOf(domain: BundleDomain, secrets: BundlePair['secrets']) {
  const selector = domain.dkim.signing[0];
  const key = selector ? secrets.dkimKeys.find((k) => k.domain === domain.domain && k.selector === selector) : undefined;
  return key ? { domain: domain.domain, selector: key.selector, privateKeyPem: key.privateKeyPem } : null;
}

async function lookupPolicy(store: PolicyStore, domain: string, log: Logger): Promise<PolicyLookup | null> {
  try {
    const lookup = await store.policyFor(domain);
    if (lookup.error) log.info('MTA-STS policy fetch failed; the cached policy, if any, applies', { domain, reason: lookup.error });
    return lookup;
  } catch (err) {
    // The shared bucket is unreachable: deliver as if no policy were cached (RFC 8461 §5.1 leaves
    // a sender without a policy to opportunistic TLS), and say so.
    log.warn('MTA-STS policy store unavailable; delivering without a policy', { domain, err });
    return null;
  }
}
