// The independent verifier (independent-verify.py: pyspf, dkimpy, authheaders) as a function:
// the same message, client IP, HELO and MAIL FROM, asking the same DNS server.
import { execFile } from 'node:child_process';
import { join } from 'node:path';

export interface IndependentVerdicts {
  readonly spf: string;
  readonly dkim: readonly { readonly d: string | null; readonly s: string | null; readonly result: string }[];
  readonly arc: string;
  readonly dmarc: string;
  readonly policy: string | null;
}

export function independentVerdicts(message: Buffer, o: { dns: string; ip: string; helo: string; mailFrom: string }): Promise<IndependentVerdicts> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      '/usr/bin/python3',
      [join(import.meta.dirname, 'independent-verify.py'), o.dns, o.ip, o.helo, o.mailFrom],
      { timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`independent verifier failed: ${err.message}: ${stderr}`));
        else resolve(JSON.parse(stdout) as IndependentVerdicts);
      },
    );
    child.stdin!.end(message);
  });
}
