// The mail that carries one TLS-RPT report (RFC 8460 §5.3): multipart/report with
// report-type "tlsrpt", a short human part and the JSON report gzipped as
// application/tlsrpt+gzip, named submitter!policy-domain!begin!end!id.json.gz; the subject and
// the TLS-Report-Domain / TLS-Report-Submitter fields let receivers sort reports without
// opening them. Built from our own data only; every name that goes into a header is reduced
// to DNS-name characters first.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { rfc5322Date } from '../message/trace-headers.ts';
import { reportId } from './report.ts';

export interface ReportMail {
  readonly day: string;
  readonly policyDomain: string;
  readonly submitter: string;
  /** From: address (one of our domains, so the report is DKIM-signed for it). */
  readonly from: string;
  readonly to: readonly string[];
  readonly report: object;
  readonly now: Date;
}

export function buildReportMail(m: ReportMail): Buffer {
  const domain = dnsName(m.policyDomain);
  const submitter = dnsName(m.submitter);
  const begin = Date.parse(`${m.day}T00:00:00Z`) / 1000;
  const id = reportId(m.day, domain, submitter);
  const tag = createHash('sha256').update(id).digest('hex').slice(0, 16);
  const boundary = `=_tlsrpt_${tag}`;
  const gz = gzipSync(Buffer.from(JSON.stringify(m.report), 'utf8'))
    .toString('base64')
    .replace(/.{1,76}/g, '$&\r\n');
  const lines = [
    `From: TLS reports <${address(m.from)}>`,
    `To: ${m.to.map((t) => `<${address(t)}>`).join(', ')}`,
    `Date: ${rfc5322Date(m.now)}`,
    `Message-ID: <tlsrpt.${tag}@${submitter}>`,
    `Subject: Report Domain: ${domain} Submitter: ${submitter} Report-ID: <${id}>`,
    `TLS-Report-Domain: ${domain}`,
    `TLS-Report-Submitter: ${submitter}`,
    'Auto-Submitted: auto-generated',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type="tlsrpt"; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=us-ascii',
    '',
    `This is an aggregate TLS report (RFC 8460) from ${submitter} for ${domain}, ${m.day} (UTC).`,
    '',
    `--${boundary}`,
    'Content-Type: application/tlsrpt+gzip',
    'Content-Transfer-Encoding: base64',
    `Content-Disposition: attachment; filename="${submitter}!${domain}!${begin}!${begin + 86_399}!${tag}.json.gz"`,
    '',
    gz.replace(/\r\n$/, ''),
    `--${boundary}--`,
    '',
  ];
  return Buffer.from(lines.join('\r\n'), 'utf8');
}

function dnsName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9.-]/g, '') || 'invalid';
}

function address(a: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are among what is removed
  return a.replace(/[\u0000-\u0020<>,;"()\u007f]/g, '');
}
