// Signing with dkimpy's own command-line tools, an implementation independent of ours: dkimsign
// (DKIM-Signature, RFC 6376) and arcsign (an ARC set, RFC 8617, sealed by a forwarder whose
// Authentication-Results field for `srvId` the message must already carry).
import { execFile } from 'node:child_process';
import type { SenderDomain } from './mail-dns.ts';

function withStdin(command: string, args: readonly string[], input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, [...args], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command} failed: ${err.message}: ${stderr.toString()}`));
      else resolve(stdout);
    });
    child.stdin!.end(input);
  });
}

/** The message with a DKIM-Signature by `domain` prepended (relaxed/relaxed, rsa-sha256). */
export async function dkimpySign(message: Buffer, domain: SenderDomain): Promise<Buffer> {
  const signed = await withStdin('/usr/bin/dkimsign', ['--hcanon', 'relaxed', '--bcanon', 'relaxed', domain.selector, domain.name, domain.keyFile], message);
  if (!/^DKIM-Signature:/i.test(signed.toString('latin1'))) throw new Error('dkimsign produced no signature');
  return signed;
}

/** The message with an ARC set by `sealer` on top (cv=none for the first set, pass after). */
export async function dkimpyArcSign(message: Buffer, sealer: SenderDomain, srvId: string): Promise<Buffer> {
  const sealed = await withStdin('/usr/bin/arcsign', [sealer.selector, sealer.name, sealer.keyFile, srvId], message);
  if (!/^ARC-Seal:/im.test(sealed.toString('latin1'))) throw new Error('arcsign produced no ARC-Seal');
  return sealed;
}
