// A real rspamd (Debian's package) on loopback for the spam-filter tests: a minimal
// configuration written into a temp dir, one normal worker on a free 127.0.0.1 port, no
// controller, no proxy, no redis, no Lua rules and modules (`filters = ""`, no rspamd.lua),
// DNS pointed at a closed port so nothing leaves the machine. What it still does is the core's
// GTUBE check (docs/spam-checks.md §2): the standard GTUBE string scores the reject
// threshold, and with test patterns on, rspamd's variants score the add-header threshold
// ("YJS*...") or nothing ("AJS*..."). A three-line TLD list replaces the public suffix list
// (compiling 9,600 suffixes takes most of a minute on a busy machine).
// Stopped by its PID (SIGTERM to the main process, which stops its workers).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startProcess, waitFor, type ManagedProcess } from './process.ts';

export interface Rspamd {
  /** "http://127.0.0.1:port": the normal worker (POST /checkv2). */
  readonly url: string;
  readonly port: number;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

/** The actions' score thresholds of the harness's rspamd (its defaults). */
export const rspamdThresholds = { reject: 15, addHeader: 6, greylist: 4 } as const;

/** rspamd's GTUBE strings (its core, not SpamAssassin's): reject, add header, no action. */
export const gtube = {
  reject: 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X',
  addHeader: 'YJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X',
} as const;

export async function startRspamd(options: { logDir?: string } = {}): Promise<Rspamd> {
  const dir = mkdtempSync(join(tmpdir(), 'stafette-rspamd-'));
  mkdirSync(join(dir, 'db'));
  const port = await freePort('127.0.0.1');
  writeFileSync(join(dir, 'tld.dat'), 'com\norg\ntest\n');
  writeFileSync(
    join(dir, 'rspamd.conf'),
    `options {
  pidfile = "${dir}/rspamd.pid";
  dbdir = "${dir}/db";
  tempdir = "${dir}";
  filters = "";
  url_tld = "${dir}/tld.dat";
  gtube_patterns = "all";
  enable_test_patterns = true;
  dns { nameserver = ["127.0.0.1:1"]; timeout = 1s; retransmits = 1; }
}
logging { type = "console"; level = "info"; }
actions { reject = ${rspamdThresholds.reject}; add_header = ${rspamdThresholds.addHeader}; greylist = ${rspamdThresholds.greylist}; }
worker "normal" { bind_socket = "127.0.0.1:${port}"; count = 1; }
`,
  );
  // -f: foreground (the PID we hold is the main process); -i: allow running as root in the sandbox.
  const proc = startProcess(`rspamd-${port}`, '/usr/bin/rspamd', ['-f', '-i', '-c', join(dir, 'rspamd.conf')], { logDir: options.logDir ?? dir, cwd: dir });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    'rspamd to answer /ping',
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`rspamd exited with ${proc.child.exitCode}; see ${proc.logFile}`);
      try {
        return (await fetch(`${url}/ping`)).ok;
      } catch {
        return false;
      }
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
  return { url, port, process: proc, stop: () => proc.stop() };
}
