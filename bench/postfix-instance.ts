// Postfix as the benchmark anchor, set up exactly as docs/performance.md §3 describes: its
// own config_directory, queue_directory and data_directory under a temporary directory, the
// smtpd on 127.0.0.1:<port>, chroot off, relayhost = an smtp-sink on 127.0.0.2. Started with
// `postfix -c DIR start`, stopped with `postfix -c DIR stop`; needs root (master binds and
// drops privileges to the postfix user, as on a real host).
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startProcess, type ManagedProcess } from '../test/harness/process.ts';

export interface PostfixInstance {
  readonly port: number;
  /** Messages the sink has received so far (smtp-sink -c counter). */
  delivered(): number;
  stop(): Promise<void>;
}

export function postfixMainCf(dir: string, sinkPort: number): string {
  return `${[
    'compatibility_level = 3.6',
    'myhostname = bench.example.test',
    'mydomain = example.test',
    'myorigin = $myhostname',
    'mydestination =',
    'local_recipient_maps =',
    'local_transport = error:local delivery disabled',
    'alias_maps =',
    'alias_database =',
    `relayhost = [127.0.0.2]:${sinkPort}`,
    'relay_domains =',
    'mynetworks = 127.0.0.0/8',
    'inet_interfaces = 127.0.0.1',
    'inet_protocols = ipv4',
    'smtp_host_lookup = native',
    'smtp_dns_support_level = disabled',
    'smtpd_relay_restrictions = permit_mynetworks, reject',
    'smtpd_recipient_restrictions = permit_mynetworks, reject',
    'smtpd_banner = $myhostname ESMTP',
    'biff = no',
    'append_dot_mydomain = no',
    // Differences from docs/performance.md §3, all about where files go (a second instance must
    // not touch the system's): the log, queue and data directories live under `dir`.
    `maillog_file = ${join(dir, 'postfix.log')}`,
    `maillog_file_prefixes = ${dir}`,
    `queue_directory = ${join(dir, 'spool')}`,
    `data_directory = ${join(dir, 'data')}`,
  ].join('\n')}\n`;
}

export async function startPostfix(opts: {
  dir: string;
  port: number;
  sinkPort: number;
  /** More smtp-sink options, e.g. -d to dump messages (the end-to-end benchmark's latency). */
  sinkArgs?: readonly string[];
}): Promise<PostfixInstance> {
  const { dir } = opts;
  const etc = join(dir, 'etc');
  mkdirSync(etc, { recursive: true });
  mkdirSync(join(dir, 'spool'), { recursive: true });
  mkdirSync(join(dir, 'data'), { recursive: true });
  // The postfix user must reach its directories; the data directory is its own.
  chmodSync(dir, 0o755);
  const uid = Number(execFileSync('id', ['-u', 'postfix'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postfix'], { encoding: 'utf8' }).trim());
  chownSync(join(dir, 'data'), uid, gid);

  writeFileSync(join(etc, 'main.cf'), postfixMainCf(dir, opts.sinkPort));
  const stock = readFileSync('/etc/postfix/master.cf', 'utf8');
  const smtpLine = /^smtp\s+inet\s.*$/m;
  if (!smtpLine.test(stock)) throw new Error('/etc/postfix/master.cf has no "smtp inet" line to change');
  writeFileSync(join(etc, 'master.cf'), stock.replace(smtpLine, `127.0.0.1:${opts.port} inet n - n - - smtpd`));
  for (const name of ['dynamicmaps.cf']) copyFileSync(join('/etc/postfix', name), join(etc, name));
  execFileSync('postconf', ['-c', etc, '-F', '*/*/chroot = n']);

  // smtp-sink: -c counts messages on stdout, -u drops root; a backlog of 1000 connections.
  const sink = startProcess('smtp-sink', 'smtp-sink', ['-c', '-u', 'nobody', ...(opts.sinkArgs ?? []), `127.0.0.2:${opts.sinkPort}`, '1000'], { logDir: dir });
  const sinkOutput = captureTail(sink);
  try {
    execFileSync('postfix', ['-c', etc, 'start'], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    await sink.stop();
    throw new Error(`postfix -c ${etc} start failed; see ${join(dir, 'postfix.log')}`, { cause: err });
  }
  await waitForPort(opts.port, 20_000);
  return {
    port: opts.port,
    delivered: () => {
      const counts = [...sinkOutput().matchAll(/mesg=(\d+)/g)];
      return counts.length ? Number(counts.at(-1)![1]) : 0;
    },
    async stop() {
      try {
        execFileSync('postfix', ['-c', etc, 'stop'], { stdio: 'ignore' });
      } finally {
        await sink.stop();
      }
    },
  };
}

/** The last few KB of a process's stdout (smtp-sink rewrites its counter with \r). */
function captureTail(proc: ManagedProcess): () => string {
  let tail = '';
  proc.child.stdout?.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString('latin1')).slice(-4096);
  });
  return () => tail;
}

export async function waitForPort(port: number, timeoutMs: number, host = '127.0.0.1'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (open) return;
    await sleep(100);
  }
  throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
}
