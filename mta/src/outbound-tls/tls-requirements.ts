// How one message may be sent to one next hop, as pure decisions: MTA-STS (RFC 8461),
// REQUIRETLS (RFC 8689) and the TLS-Required: No header field (RFC 8689 §5), for the remote
// transport to apply before it connects (may this MX host be used at all?) and after the TLS
// handshake (is this session good enough?).
//
// # MTA-STS, for direct delivery to a domain's MX hosts
//   enforce  only MX hosts the policy lists (mailauth's validateMx: exact names and "*."
//            wildcards of one label), over STARTTLS with a certificate valid for the MX host
//            name (system CAs plus the configured extra bundle); anything else is transient
//            (4.7.x: deferred, retried, bounced when the message expires), with the reason;
//   testing  delivered whatever happens (opportunistic TLS as before); failures are reported
//            (TLS-RPT) and logged;
//   none / no policy: opportunistic TLS, certificates not checked (RFC 3207 §4 practice).
// # REQUIRETLS (the sender asked for it on MAIL FROM)
//   The whole path must be protected: the MX host must be one an MTA-STS policy lists, with a
//   `testing` policy treated as `enforce` (RFC 8689 §4.2.1; we do not validate DNSSEC, so
//   without a policy the MX records themselves cannot be trusted), the certificate must
//   verify, and the next hop must offer REQUIRETLS. Otherwise the message bounces at once
//   with 550 5.7.30 (RFC 8689 §5.2: REQUIRETLS support required): a retry cannot fix a hop
//   that does not offer it, and the sender chose failure over an unprotected path.
// # TLS-Required: No (a header field of the message)
//   The sender waives MTA-STS for this message: delivered as if the domain had no policy.
//   Ignored when the message also carries REQUIRETLS (RFC 8689 §5).
// # Relays (smart hosts of the bundle)
//   Their certificate is verified (system CAs plus the extra bundle) unless the Relay says
//   otherwise; `tls: none` sends in plaintext only with the Relay's explicit opt-in.
import { validateMx } from 'mailauth/lib/mta-sts.js';
import { C, SE, type EnhancedSubject } from '../codes.ts';
import { reply, type Reply } from '../reply.ts';

export type StsMode = 'enforce' | 'testing' | 'none';

export interface StsPolicy {
  readonly mode: StsMode;
  /** Allowed MX patterns, lowercase ("mx.example.com", "*.example.net"). */
  readonly mx: readonly string[];
}

export interface MessageTlsDemands {
  /** REQUIRETLS on MAIL FROM. */
  readonly requireTls: boolean;
  /** The message carries "TLS-Required: No". */
  readonly tlsRequiredNo: boolean;
}

/** What a connection to one host must provide. */
export interface HostRequirement {
  /** verified: STARTTLS with a certificate valid for the host name; opportunistic: TLS if offered, unchecked. */
  readonly tls: 'verified' | 'opportunistic';
  /** The next hop must offer REQUIRETLS (and REQUIRETLS goes on our MAIL FROM). */
  readonly requireTlsExtension: boolean;
  /** Failures are reported (TLS-RPT, logs) but do not stop the delivery (MTA-STS testing). */
  readonly reportOnly: boolean;
  /** Which policy this is under, for TLS-RPT: "sts" or "no-policy-found". */
  readonly policyType: 'sts' | 'no-policy-found';
}

export type HostVerdict = { readonly ok: true; readonly requirement: HostRequirement } | { readonly ok: false; readonly failure: TlsFailure };

export interface TlsFailure {
  readonly status: 'transient' | 'permanent';
  readonly reply: Reply;
  readonly reason: string;
  /** RFC 8460 §4.3 result type, when TLS-RPT should count it. */
  readonly resultType: TlsResultType | null;
}

/** RFC 8460 §4.3 failure result types we can observe. */
export type TlsResultType =
  | 'starttls-not-supported'
  | 'certificate-host-mismatch'
  | 'certificate-expired'
  | 'certificate-not-trusted'
  | 'validation-failure'
  | 'sts-policy-invalid'
  | 'sts-webpki-invalid'
  | 'sts-policy-fetch-error';

/** Before connecting to `mxHost` of a domain whose MTA-STS policy is `policy` (null: none). */
export function checkMxHost(mxHost: string, policy: StsPolicy | null, demands: MessageTlsDemands): HostVerdict {
  const waived = demands.tlsRequiredNo && !demands.requireTls;
  const mode: StsMode = waived || !policy ? 'none' : policy.mode;
  if (demands.requireTls) {
    if (!policy || policy.mode === 'none') return { ok: false, failure: requireTlsFailure(`no MTA-STS policy vouches for the MX hosts of ${mxHost}'s domain`) };
    if (!validateMx(mxHost, { mode: 'enforce', mx: [...policy.mx] }).valid) {
      return { ok: false, failure: requireTlsFailure(`MX ${mxHost} is not listed in the MTA-STS policy`) };
    }
    return { ok: true, requirement: { tls: 'verified', requireTlsExtension: true, reportOnly: false, policyType: 'sts' } };
  }
  if (mode === 'none') return { ok: true, requirement: { tls: 'opportunistic', requireTlsExtension: false, reportOnly: false, policyType: 'no-policy-found' } };
  const listed = validateMx(mxHost, { mode: policy!.mode, mx: [...policy!.mx] }).valid;
  if (!listed && mode === 'enforce') {
    return {
      ok: false,
      failure: transient(
        SE.SecurityNotSupported4,
        `MX host ${mxHost} is not allowed by the domain's MTA-STS policy`,
        `MTA-STS enforce: ${mxHost} matches none of ${policy!.mx.join(', ')}`,
        'validation-failure',
      ),
    };
  }
  return { ok: true, requirement: { tls: 'verified', requireTlsExtension: false, reportOnly: mode === 'testing', policyType: 'sts' } };
}

/** Before connecting to a relay: verified TLS unless the Relay opted out. */
export function checkRelay(
  relay: { readonly tls: 'starttls' | 'implicit' | 'none'; readonly verifyCertificate: boolean },
  demands: MessageTlsDemands,
): HostVerdict {
  if (demands.requireTls && (relay.tls === 'none' || !relay.verifyCertificate)) {
    return { ok: false, failure: requireTlsFailure('the relay is not configured for verified TLS') };
  }
  const tls = relay.tls !== 'none' && relay.verifyCertificate ? 'verified' : 'opportunistic';
  return { ok: true, requirement: { tls, requireTlsExtension: demands.requireTls, reportOnly: false, policyType: 'no-policy-found' } };
}

/** What the TLS handshake and EHLO showed. */
export interface SessionTls {
  readonly tls: boolean;
  /** null when no TLS; else whether the certificate chain verified and matched the host name. */
  readonly verifyError: string | null;
  /** The certificate error code node reported (CERT_HAS_EXPIRED, ERR_TLS_CERT_ALTNAME_INVALID, ...). */
  readonly verifyCode?: string;
  readonly offersRequireTls: boolean;
}

/** After connecting: may the message be sent over this session? */
export function checkSession(host: string, requirement: HostRequirement, session: SessionTls): { ok: true } | { ok: false; failure: TlsFailure } {
  if (requirement.tls === 'verified') {
    const problem = !session.tls
      ? transient(SE.SecurityNotSupported4, `${host} did not offer STARTTLS, which the recipient domain requires`, `${host}: no TLS`, 'starttls-not-supported')
      : session.verifyError !== null
        ? transient(
            SE.CryptographicFailure5,
            `TLS certificate of ${host} could not be verified`,
            `${host}: ${session.verifyError}`,
            resultTypeOf(session.verifyCode),
          )
        : null;
    if (problem) {
      if (requirement.requireTlsExtension) return { ok: false, failure: requireTlsFailure(problem.reason) };
      if (!requirement.reportOnly) return { ok: false, failure: problem };
    }
  }
  if (requirement.requireTlsExtension && !session.offersRequireTls) {
    return { ok: false, failure: requireTlsFailure(`${host} does not offer REQUIRETLS`) };
  }
  return { ok: true };
}

/** Whether a message's header section carries "TLS-Required: No" (RFC 8689 §5). */
export function hasTlsRequiredNo(message: Uint8Array): boolean {
  const bytes = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  const end = bytes.indexOf('\r\n\r\n');
  const header = bytes
    .subarray(0, end < 0 ? Math.min(bytes.length, 256 * 1024) : end)
    .toString('latin1')
    .replace(/\r\n[ \t]+/g, ' ');
  return header.split('\r\n').some((line) => /^tls-required[ \t]*:[ \t]*no[ \t]*$/i.test(line));
}

/** The RFC 8460 result type of a certificate verification error (node's code). */
export function resultTypeOf(code: string | undefined): TlsResultType {
  if (code === 'CERT_HAS_EXPIRED') return 'certificate-expired';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return 'certificate-host-mismatch';
  if (code && /SELF_SIGNED|UNABLE_TO_GET_ISSUER|UNABLE_TO_VERIFY_LEAF|CERT_UNTRUSTED/.test(code)) return 'certificate-not-trusted';
  return 'validation-failure';
}

function transient(subject: EnhancedSubject, text: string, reason: string, resultType: TlsResultType): TlsFailure {
  return { status: 'transient', reply: reply(C.C451LocalError, subject, text), reason, resultType };
}

function requireTlsFailure(reason: string): TlsFailure {
  return {
    status: 'permanent',
    reply: reply(C.C550MailboxUnavailable, SE.RequireTlsNeeded30, 'REQUIRETLS support required: no protected path to the recipient'),
    reason: `REQUIRETLS: ${reason}`,
    resultType: null,
  };
}
