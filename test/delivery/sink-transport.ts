// A transport for the delivery engine's integration tests: real SMTP (nodemailer's
// SMTPConnection) to a fixed host:port per recipient domain, standing in for MX lookup.
// It talks to real servers only (smtp-sink, Postfix); the production transports (remote
// SMTP with MX lookup, LMTP, ...) live in mta/src/transport/ and are tested on their own.
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { wholeBody, type DeliveryAttempt, type RecipientOutcome, type Transport } from '../../mta/src/delivery/attempt.ts';

export interface SinkAddress {
  host: string;
  port: number;
}

export function sinkTransport(routes: Record<string, SinkAddress>, opts: { timeoutMs?: number; helo?: string } = {}): Transport {
  return {
    async deliver(attempt: DeliveryAttempt): Promise<RecipientOutcome[]> {
      const domain = attempt.destination.kind === 'mx' ? attempt.destination.domain : '';
      const target = routes[domain];
      if (!target) {
        return attempt.recipients.map((recipient) => ({
          recipient,
          status: 'permanent',
          reason: `no test route for ${domain}`,
          reply: { code: 550, enhanced: '5.1.2', text: 'Unknown destination domain' },
        }));
      }
      return await sendOnce(attempt, target, opts.timeoutMs ?? 30_000, opts.helo ?? 'stafette.test');
    },
  };
}

function sendOnce(attempt: DeliveryAttempt, target: SinkAddress, timeoutMs: number, helo: string): Promise<RecipientOutcome[]> {
  const remoteMta = `${target.host}:${target.port}`;
  return new Promise((resolve) => {
    let settled = false;
    const conn = new SMTPConnection({
      host: target.host,
      port: target.port,
      secure: false,
      ignoreTLS: true,
      name: helo,
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
    });
    const finish = (outcomes: RecipientOutcome[]) => {
      if (settled) return;
      settled = true;
      attempt.signal.removeEventListener('abort', onAbort);
      try {
        conn.close();
      } catch {
        /* already closed */
      }
      resolve(outcomes);
    };
    // remoteMta only when the server answered: a refused or silent server is "unreachable".
    const all = (status: RecipientOutcome['status'], code: number, enhanced: string, text: string, reason: string, answered: boolean) =>
      attempt.recipients.map((recipient): RecipientOutcome => ({
        recipient,
        status,
        reply: { code, enhanced, text },
        reason,
        ...(answered ? { remoteMta } : {}),
      }));
    const fromError = (err: { responseCode?: number; response?: string; message: string }) => {
      if (err.responseCode === undefined) return all('transient', 451, '4.4.1', 'No answer from the receiving mail server', err.message, false);
      const code = err.responseCode;
      const status = code >= 500 ? 'permanent' : 'transient';
      const { enhanced, text } = parseReply(err.response, code);
      return all(status, code, enhanced, text, err.message, true);
    };
    const onAbort = () => finish(all('transient', 451, '4.4.1', 'Connection timed out', 'attempt deadline passed', false));
    attempt.signal.addEventListener('abort', onAbort, { once: true });
    conn.on('error', (err: Error & { responseCode?: number; response?: string }) => finish(fromError(err)));
    conn.connect((err) => {
      if (err) return finish(fromError(err));
      const from = attempt.record.envelope.mailFrom.address;
      conn.send({ from: from === '' ? false : from, to: attempt.recipients }, wholeBody(attempt), (sendErr, info) => {
        if (sendErr) {
          const rejected = sendErr.rejectedErrors;
          if (rejected && rejected.length > 0) {
            return finish(
              attempt.recipients.map((recipient) => {
                const e = rejected.find((r) => r.recipient === recipient) ?? sendErr;
                return fromError(e).find((o) => o.recipient === recipient)!;
              }),
            );
          }
          return finish(fromError(sendErr));
        }
        const { enhanced, text } = parseReply(info.response, 250);
        const errors = info.rejectedErrors ?? [];
        finish(
          attempt.recipients.map((recipient): RecipientOutcome => {
            const e = errors.find((r) => r.recipient === recipient);
            if (e) return fromError(e).find((o) => o.recipient === recipient)!;
            return { recipient, status: 'delivered', reply: { code: 250, enhanced, text }, reason: 'accepted', remoteMta };
          }),
        );
        try {
          conn.quit();
        } catch {
          /* closing */
        }
      });
    });
  });
}

function parseReply(response: string | undefined, code: number): { enhanced: string; text: string } {
  const m = /^\d{3}[ -](\d\.\d{1,3}\.\d{1,3})?\s*(.*)$/s.exec((response ?? '').trim());
  return { enhanced: m?.[1] ?? `${String(code)[0]}.0.0`, text: (m?.[2] ?? response ?? '').slice(0, 300) };
}
