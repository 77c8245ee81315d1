// Real receiving SMTP servers for delivery tests: Postfix's smtp-sink on a loopback address
// (127.0.0.x) and a free port, in one of four behaviours:
//   accept  every message, dumped to one file per transaction (to count deliveries)
//   defer   every RCPT answered 450 4.3.0 (smtp-sink -r RCPT)
//   reject  every RCPT answered 550 5.1.1 (smtp-sink -f RCPT -B ...)
//   hang    DATA is answered only after an hour (smtp-sink -w 3600): a transaction that stalls
// and, with `lmtp`, speaking LMTP (smtp-sink -L) in place of an LMTP mail store.
// The process is stopped by PID through the harness (process.ts).
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort, startProcess, waitFor, type ManagedProcess } from './process.ts';

export type SinkBehaviour = 'accept' | 'defer' | 'reject' | 'hang';

export interface SmtpSink {
  readonly host: string;
  readonly port: number;
  readonly behaviour: SinkBehaviour;
  readonly process: ManagedProcess;
  /** The dumped transactions (accept only), each the raw dump text. */
  messages(): string[];
  /** How many dumped transactions carry `needle` (e.g. a test's unique header value). */
  count(needle?: string): number;
  stop(): Promise<void>;
}

export async function startSmtpSink(opts: {
  host: string;
  behaviour: SinkBehaviour;
  dir: string;
  name?: string;
  /** accept only: wait this long before answering DATA, so transactions last (kill tests). */
  dataDelaySeconds?: number;
  /** A fixed port (e.g. one MX port shared by sinks on several addresses); free one otherwise. */
  port?: number;
  /** Speak LMTP instead of SMTP (smtp-sink -L), as a mail store's LMTP server would. */
  lmtp?: boolean;
}): Promise<SmtpSink> {
  const name = opts.name ?? `smtp-sink-${opts.behaviour}-${opts.host}`;
  const port = opts.port ?? (await freePort(opts.host));
  const dumpDir = join(opts.dir, `${name}-dump`);
  mkdirSync(dumpDir, { recursive: true });
  const args = ['-h', `${opts.behaviour}.sink.test`, '-m', '512', ...(opts.lmtp ? ['-L'] : [])];
  // smtp-sink refuses to run as root without dropping privileges; the dump directory must
  // then be writable by that user.
  if (process.getuid?.() === 0) {
    chmodSync(opts.dir, 0o711);
    chmodSync(dumpDir, 0o777);
    args.push('-u', 'nobody');
  }
  switch (opts.behaviour) {
    case 'accept':
      args.push('-d', `${dumpDir}/%H%M%S.`);
      if (opts.dataDelaySeconds) args.push('-w', String(opts.dataDelaySeconds));
      break;
    case 'defer':
      args.push('-r', 'RCPT', '-b', '450 4.3.0 Try again later (test sink)');
      break;
    case 'reject':
      args.push('-f', 'RCPT', '-B', '550 5.1.1 No such user here (test sink)');
      break;
    case 'hang':
      args.push('-w', '3600');
      break;
  }
  args.push(`${opts.host}:${port}`, '256');
  const proc = startProcess(name, 'smtp-sink', args, { logDir: opts.dir });
  await waitFor(
    `${name} listening on ${opts.host}:${port}`,
    () =>
      new Promise<boolean>((resolve) => {
        const s = connect({ host: opts.host, port }, () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      }),
    { timeoutMs: 10_000 },
  );

  // A dump file is complete once smtp-sink has written the empty line after the message;
  // files still being written (a transaction in progress) are not counted.
  const messages = (): string[] => {
    const out: string[] = [];
    for (const f of readdirSync(dumpDir)) {
      const path = join(dumpDir, f);
      if (!statSync(path).isFile()) continue;
      const text = readFileSync(path, 'latin1');
      if (text.endsWith('\n\n') || text.endsWith('\r\n\r\n')) out.push(text);
    }
    return out;
  };
  return {
    host: opts.host,
    port,
    behaviour: opts.behaviour,
    process: proc,
    messages,
    count: (needle) => messages().filter((m) => needle === undefined || m.includes(needle)).length,
    stop: () => proc.stop(),
  };
}
