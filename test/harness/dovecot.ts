// Dovecot for the delivery tests: LMTP and IMAP on loopback TCP ports, users from a
// passwd-file (so an unknown recipient is refused), mail in maildirs under a temporary
// directory. Started in the foreground (`dovecot -F -c <conf>`) and stopped by its PID.
// Runs as root (mail owned by the `dovecot` user) or as an ordinary user (mail owned by it).
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort, startProcess, waitFor, type ManagedProcess } from './process.ts';

export interface DovecotUser {
  readonly address: string;
  readonly password: string;
}

export interface Dovecot {
  readonly host: string;
  readonly lmtpPort: number;
  readonly imapPort: number;
  readonly dir: string;
  readonly process: ManagedProcess;
  /** The maildir of a user. */
  maildir(address: string): string;
  stop(): Promise<void>;
}

export async function startDovecot(users: readonly DovecotUser[], options: { host?: string } = {}): Promise<Dovecot> {
  const host = options.host ?? '127.0.0.1';
  const dir = mkdtempSync(join(tmpdir(), 'stafette-dovecot-'));
  // Dovecot's auth and mail processes run as the mail user and must reach the passwd file.
  chmodSync(dir, 0o755);
  const [lmtpPort, imapPort] = [await freePort(host), await freePort(host)];
  const root = process.getuid?.() === 0;
  const account = root
    ? { name: 'dovecot', uid: uidOf('dovecot'), gid: gidOf('dovecot') }
    : { name: userInfo().username, uid: userInfo().uid, gid: userInfo().gid };
  const mailRoot = join(dir, 'mail');
  mkdirSync(mailRoot, { recursive: true });
  mkdirSync(join(dir, 'run'), { recursive: true });
  mkdirSync(join(dir, 'state'), { recursive: true });
  if (root) chownSync(mailRoot, account.uid, account.gid);
  const passwd = users.map((u) => `${u.address}:{PLAIN}${u.password}:${account.uid}:${account.gid}::${join(mailRoot, u.address)}::`).join('\n');
  writeFileSync(join(dir, 'passwd'), `${passwd}\n`, { mode: 0o644 });
  const conf = `
instance_name = stafette-dovecot-${lmtpPort}
base_dir = ${join(dir, 'run')}
state_dir = ${join(dir, 'state')}
log_path = /dev/stderr
info_log_path = /dev/stderr
protocols = imap lmtp
listen = ${host}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = ${account.name}
default_login_user = ${account.name}
first_valid_uid = ${account.uid}
mail_location = maildir:~/Maildir
mail_fsync = optimized
passdb {
  driver = passwd-file
  args = username_format=%u ${join(dir, 'passwd')}
}
userdb {
  driver = passwd-file
  args = username_format=%u ${join(dir, 'passwd')}
}
service anvil {
  chroot =
}
service imap-login {
  chroot =
  inet_listener imap {
    address = ${host}
    port = ${imapPort}
  }
  inet_listener imaps {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = ${host}
    port = ${lmtpPort}
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
  inet_listener pop3s {
    port = 0
  }
}
service submission-login {
  inet_listener submission {
    port = 0
  }
}
protocol lmtp {
  postmaster_address = postmaster@stafette.test
}
`;
  writeFileSync(join(dir, 'dovecot.conf'), conf);
  const proc = startProcess(`dovecot-${lmtpPort}`, '/usr/sbin/dovecot', ['-F', '-c', join(dir, 'dovecot.conf')], { logDir: dir });
  await waitFor(
    'dovecot LMTP and IMAP to greet',
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`dovecot exited with ${proc.child.exitCode}; see ${proc.logFile}`);
      return (await greets(host, lmtpPort, '220')) && (await greets(host, imapPort, '* OK'));
    },
    { timeoutMs: 20_000, intervalMs: 200 },
  );
  return {
    host,
    lmtpPort,
    imapPort,
    dir,
    process: proc,
    maildir: (address) => join(mailRoot, address, 'Maildir'),
    stop: () => proc.stop(),
  };
}

function greets(host: string, port: number, prefix: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (chunk) => done(chunk.toString('latin1').startsWith(prefix)));
  });
}

function uidOf(name: string): number {
  return Number(lookupPasswd(name)[2]);
}

function gidOf(name: string): number {
  return Number(lookupPasswd(name)[3]);
}

function lookupPasswd(name: string): string[] {
  // /etc/passwd is what getpwnam reads on these machines (no NSS directory in tests).
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`no user ${name} in /etc/passwd (install dovecot-core)`);
  return line.split(':');
}
