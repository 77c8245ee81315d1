// The inbound checks of one message: SPF (RFC 7208), DKIM (RFC 6376), ARC (RFC 8617) and DMARC
// (RFC 7489 / 9989: organisational domain, alignment), all by mailauth's authenticate(), fed with
// what the SMTP session saw (the connecting IP, the EHLO name, MAIL FROM), never with what the
// message's own Received or Return-Path headers claim (trustReceived stays off).
//
// The message arrives as a stream (the intake tees the normalised DATA stream into it, so the
// checks run while the client is still sending and hold no second copy of the message:
// mailauth keeps the header section and hashes the body as it streams). DNS goes through the
// resolver given, which in production is the process cache behind a per-message budget
// (mta/src/dns/). BIMI is off: it is not a check the MX acts on, and it costs lookups.
//
// The result is data (AuthVerdicts): one entry per method, each with RFC 8601 result keywords,
// plus the payload of the one Authentication-Results field we add (auth-results.ts renders it).
import type { Readable } from 'node:stream';
import { authenticate, type AuthenticateResult } from 'mailauth';
import { normalizeDomain } from '../../../bundle/address.ts';

/** RFC 8601 §2.7 result keywords (mailauth's "temperr" is reported as temperror). */
export type MethodResult = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'temperror' | 'permerror' | 'policy';

export interface SpfVerdict {
  readonly result: MethodResult;
  /** The domain SPF was checked for: MAIL FROM's, or the EHLO name's for the null sender. */
  readonly domain: string | null;
}

export interface DkimSignatureVerdict {
  readonly result: MethodResult;
  /** d= of the signature, normalised. */
  readonly domain: string | null;
  readonly selector: string | null;
}

export interface DkimVerdict {
  /** The best result among the signatures: pass if any passes; none without signatures. */
  readonly result: MethodResult;
  readonly signatures: readonly DkimSignatureVerdict[];
}

export interface ArcVerdict {
  /** none (no chain), pass, fail, or temperror/permerror as mailauth found. */
  readonly result: MethodResult;
  /** The highest instance (i=) of the chain, 0 without one. */
  readonly instance: number;
}

export type DmarcPolicy = 'none' | 'quarantine' | 'reject';

export interface DmarcVerdict {
  readonly result: MethodResult;
  /** The From header's domain (RFC5322.From), normalised. */
  readonly fromDomain: string;
  /** The policy that applies (p, sp or np; one level lower with t=y); null without a record. */
  readonly policy: DmarcPolicy | null;
}

export interface AuthVerdicts {
  readonly spf: SpfVerdict;
  readonly dkim: DkimVerdict;
  readonly arc: ArcVerdict;
  /** null when DMARC could not be evaluated: no From, or From with several domains. */
  readonly dmarc: DmarcVerdict | null;
  /** Why DMARC is null (mailauth's dmarcSkipReason), for the log. */
  readonly dmarcSkipped: string | null;
  /** The method results for the Authentication-Results field, in RFC 8601 resinfo syntax. */
  readonly resinfo: readonly string[];
}

export interface VerifyInput {
  readonly message: Readable | Buffer;
  /** The connecting client's address (what SPF checks). */
  readonly ip: string;
  /** The EHLO/HELO name the client gave. */
  readonly helo: string;
  /** MAIL FROM as received; "" for the null sender. */
  readonly mailFrom: string;
  /** Our authserv-id: the receiving domain's hostname. */
  readonly authservId: string;
  /** mailauth's resolver shape: (name, type) → records, node:dns error codes on failure. */
  readonly resolver: (name: string, type: string) => Promise<unknown>;
  /** Shortest RSA key accepted for DKIM and ARC (mailauth's default 1024). */
  readonly minBitLength?: number;
}

export async function verifyMessage(input: VerifyInput): Promise<AuthVerdicts> {
  const result = await authenticate(input.message, {
    ip: input.ip,
    helo: input.helo,
    sender: input.mailFrom,
    mta: input.authservId,
    resolver: input.resolver as never,
    trustReceived: false,
    disableBimi: true,
    // RFC-exact results: a body hash mismatch is dkim=fail (the lenient default says neutral),
    // rsa-sha1 is dkim=policy (RFC 8301), SPF counts void lookups as RFC 7208 §4.6.4 does.
    strict: true,
    ...(input.minBitLength ? { minBitLength: input.minBitLength } : {}),
  });
  return verdictsOf(result, input.mailFrom, input.helo);
}

/** mailauth's result as verdict data (exported for the unit tests). */
export function verdictsOf(result: AuthenticateResult, mailFrom: string, helo: string): AuthVerdicts {
  const spfDomain = mailFrom.includes('@') ? mailFrom.slice(mailFrom.lastIndexOf('@') + 1) : helo;
  const spf: SpfVerdict = {
    result: result.spf ? keyword(result.spf.status.result) : 'none',
    domain: normalizeDomain(spfDomain) ?? null,
  };
  const signatures: DkimSignatureVerdict[] = (result.dkim.results ?? [])
    .filter((r) => r.signingDomain !== undefined || r.status.result !== 'none')
    .map((r) => ({
      result: keyword(r.status.result),
      domain: r.signingDomain ? (normalizeDomain(r.signingDomain) ?? null) : null,
      selector: r.selector ?? null,
    }));
  const dkim: DkimVerdict = { result: bestOf(signatures.map((s) => s.result)), signatures };
  const arc: ArcVerdict = result.arc
    ? { result: keyword(result.arc.status.result), instance: typeof result.arc.i === 'number' ? result.arc.i : 0 }
    : { result: 'none', instance: 0 };
  const dmarc: DmarcVerdict | null = result.dmarc
    ? {
        result: keyword(result.dmarc.status.result),
        fromDomain: normalizeDomain(result.dmarc.status.header?.from ?? '') ?? result.dmarc.status.header?.from ?? '',
        policy: policyOf(result.dmarc.policy, result.dmarc.status.result),
      }
    : null;
  const resinfo = [
    ...(result.dkim.results ?? []).map((r) => r.info),
    ...(result.spf ? [result.spf.info] : []),
    // mailauth reports no arc= entry without a chain; we say so (RFC 8617 §7.2: arc=none).
    ...(result.arc && result.arc.info ? [result.arc.info] : ['arc=none']),
    ...(result.dmarc ? [result.dmarc.info] : []),
  ].filter((s): s is string => typeof s === 'string' && s.length > 0);
  return { spf, dkim, arc, dmarc, dmarcSkipped: result.dmarc ? null : (result.dmarcSkipReason ?? null), resinfo };
}

const keywords = new Set<MethodResult>(['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror', 'policy']);

function keyword(raw: string | undefined): MethodResult {
  if (raw === 'temperr') return 'temperror';
  return raw && keywords.has(raw as MethodResult) ? (raw as MethodResult) : 'permerror';
}

// pass beats everything; then the results that say "could not tell" (temperror first, since
// a retry may pass), then the failures.
const rank: readonly MethodResult[] = ['pass', 'temperror', 'policy', 'neutral', 'softfail', 'fail', 'permerror', 'none'];

function bestOf(results: readonly MethodResult[]): MethodResult {
  if (results.length === 0) return 'none';
  return [...results].sort((a, b) => rank.indexOf(a) - rank.indexOf(b))[0]!;
}

function policyOf(policy: string | undefined, result: string): DmarcPolicy | null {
  if (result === 'none' || result === 'temperror' || result === 'temperr') return null;
  return policy === 'reject' || policy === 'quarantine' || policy === 'none' ? policy : null;
}
