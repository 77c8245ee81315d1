// The ESMTP parameters of Delivery Status Notifications (RFC 3461) and REQUIRETLS (RFC 8689),
// checked once at intake and read back in delivery from the queue record, with one parser.
//
//   MAIL FROM: RET=FULL|HDRS        whether a failure notice returns the whole message or its headers
//              ENVID=<xtext>        the sender's own id for the transaction, echoed in every notice
//              REQUIRETLS           deliver only over verified TLS, to hops that offer REQUIRETLS
//   RCPT TO:   NOTIFY=NEVER | SUCCESS,FAILURE,DELAY (any of the three)
//              ORCPT=<addr-type>;<xtext>   the recipient as the sender first addressed it
//
// How they ride in the queue record: in `envelope.*.params` (record.ts keeps every parameter
// by name and value), with the values as smtp-server hands them over: xtext already decoded
// (smtp-server decodes "+XX" in every parameter value and refuses a decoded control character,
// which is how Exim's CVE-2020-28026 injected lines through "+0D+0A"). Intake accepts only
// values this parser accepts, so delivery parses them again with the same rules; values are
// xtext-encoded again only when passed on to a next hop (nextHopParams). Refusals are 501
// 5.5.4 (RFC 3461 §4: a malformed parameter) or 555 5.5.4 for one given twice.
import { C, SE } from '../codes.ts';
import { SmtpError } from '../errors.ts';

export type NotifyCondition = 'SUCCESS' | 'FAILURE' | 'DELAY';

export interface MailDsnParams {
  /** null: not given (our default is headers only). */
  readonly ret: 'FULL' | 'HDRS' | null;
  /** Decoded ENVID, or null. */
  readonly envid: string | null;
  readonly requireTls: boolean;
}

export interface RcptDsnParams {
  /** null: NOTIFY not given (failures and delays are reported); an empty set: NEVER. */
  readonly notify: ReadonlySet<NotifyCondition> | null;
  /** ORCPT, decoded: its address type ("rfc822", "utf-8", ...) and the address. */
  readonly orcpt: { readonly type: string; readonly address: string } | null;
}

export type Param = { readonly name: string; readonly value: string | null };

// Limits from RFC 3461 §4.2 (ORCPT 500 characters) and §4.4 (ENVID 100 characters).
const maxEnvid = 100;
const maxOrcpt = 500;

/** Reads RET/ENVID/REQUIRETLS of a MAIL command; a refusal for a malformed or repeated one. */
export function parseMailDsnParams(params: readonly Param[]): MailDsnParams | SmtpError {
  let ret: MailDsnParams['ret'] = null;
  let envid: string | null = null;
  let requireTls = false;
  const seen = new Set<string>();
  for (const p of params) {
    const name = p.name.toUpperCase();
    if (name !== 'RET' && name !== 'ENVID' && name !== 'REQUIRETLS') continue;
    if (seen.has(name)) return repeated('MAIL', name);
    seen.add(name);
    if (name === 'REQUIRETLS') {
      if (p.value !== null) return malformed('MAIL', name, 'takes no value');
      requireTls = true;
    } else if (name === 'RET') {
      const v = p.value?.toUpperCase();
      if (v !== 'FULL' && v !== 'HDRS') return malformed('MAIL', name, 'must be FULL or HDRS');
      ret = v;
    } else {
      if (p.value === null || p.value.length === 0 || p.value.length > maxEnvid || !printable(p.value)) {
        return malformed('MAIL', name, `must be 1 to ${maxEnvid} characters without control characters`);
      }
      envid = p.value;
    }
  }
  return { ret, envid, requireTls };
}

/** Reads NOTIFY/ORCPT of a RCPT command; a refusal for a malformed or repeated one. */
export function parseRcptDsnParams(params: readonly Param[]): RcptDsnParams | SmtpError {
  let notify: Set<NotifyCondition> | null = null;
  let orcpt: RcptDsnParams['orcpt'] = null;
  const seen = new Set<string>();
  for (const p of params) {
    const name = p.name.toUpperCase();
    if (name !== 'NOTIFY' && name !== 'ORCPT') continue;
    if (seen.has(name)) return repeated('RCPT', name);
    seen.add(name);
    if (name === 'NOTIFY') {
      const items = (p.value ?? '').toUpperCase().split(',');
      if (items.length === 1 && items[0] === 'NEVER') notify = new Set();
      else {
        notify = new Set();
        for (const item of items) {
          if (item !== 'SUCCESS' && item !== 'FAILURE' && item !== 'DELAY')
            return malformed('RCPT', name, 'must be NEVER, or a list of SUCCESS, FAILURE and DELAY');
          if (notify.has(item)) return malformed('RCPT', name, `names ${item} twice`);
          notify.add(item);
        }
      }
    } else {
      const value = p.value ?? '';
      const semi = value.indexOf(';');
      if (semi <= 0 || value.length > maxOrcpt) return malformed('RCPT', name, `must be <addr-type>;<xtext>, at most ${maxOrcpt} characters`);
      const type = value.slice(0, semi);
      if (!/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(type)) return malformed('RCPT', name, 'has an invalid address type');
      const address = value.slice(semi + 1);
      if (address === '' || !printable(address)) return malformed('RCPT', name, 'has no printable address');
      orcpt = { type: type.toLowerCase(), address };
    }
  }
  return { notify, orcpt };
}

/** Whether a recipient asked for a notice on `condition` (no NOTIFY: failures and delays). */
export function wantsNotice(rcpt: RcptDsnParams, condition: NotifyCondition): boolean {
  return rcpt.notify === null ? condition !== 'SUCCESS' : rcpt.notify.has(condition);
}

// No control characters (CR, LF, NUL, DEL, ...): values go into notice fields.
function printable(text: string): boolean {
  // eslint-disable-next-line no-control-regex -- control characters are what is refused here
  return !/[\u0000-\u001f\u007f]/.test(text);
}

/** The xtext of a value, for passing ENVID and ORCPT on to a next hop. */
export function encodeXtext(value: string): string {
  let out = '';
  for (const b of Buffer.from(value, 'utf8')) {
    out += b >= 0x21 && b <= 0x7e && b !== 0x2b && b !== 0x3d ? String.fromCharCode(b) : `+${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The ESMTP parameters to give a next hop that offers DSN (RFC 3461 §6.2: passed on unchanged in meaning). */
export function nextHopParams(mail: MailDsnParams, rcpt: RcptDsnParams, recipient: string): { mail: string[]; rcpt: string[] } {
  const m: string[] = [];
  if (mail.ret) m.push(`RET=${mail.ret}`);
  if (mail.envid !== null) m.push(`ENVID=${encodeXtext(mail.envid)}`);
  const r: string[] = [];
  if (rcpt.notify) r.push(`NOTIFY=${rcpt.notify.size === 0 ? 'NEVER' : [...rcpt.notify].join(',')}`);
  const orcpt = rcpt.orcpt ?? { type: 'rfc822', address: recipient };
  r.push(`ORCPT=${orcpt.type};${encodeXtext(orcpt.address)}`);
  return { mail: m, rcpt: r };
}

function malformed(command: 'MAIL' | 'RCPT', name: string, why: string): SmtpError {
  return new SmtpError({
    code: C.C501BadParamSyntax,
    subject: SE.InvalidParams4,
    rule: 'bad_dsn_parameter',
    clientMessage: `${command} parameter ${name} ${why}`,
    reason: `${command} ${name} refused: ${why}`,
  });
}

function repeated(command: 'MAIL' | 'RCPT', name: string): SmtpError {
  return new SmtpError({
    code: C.C555UnrecognizedParams,
    subject: SE.InvalidParams4,
    rule: 'repeated_parameter',
    clientMessage: `${command} parameter ${name} given more than once`,
    reason: `${command} with ${name} twice`,
  });
}
