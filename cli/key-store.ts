// DKIM private keys kept between offline renders: <dir>/<domain>/<selector>.pem.
// The first render generates them; later renders find and keep them, so the DNS
// records already published stay valid.
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DkimKeyMaterial } from '../operator/src/render/input.ts';
import { algorithmOf, publicKeyRecordValue } from '../operator/src/dkim/keys.ts';

export function readKeys(dir: string): DkimKeyMaterial[] {
  if (!existsSync(dir)) return [];
  const keys: DkimKeyMaterial[] = [];
  for (const domain of readdirSync(dir).sort()) {
    for (const file of readdirSync(join(dir, domain)).sort()) {
      if (!file.endsWith('.pem')) continue;
      const privateKeyPem = readFileSync(join(dir, domain, file), 'utf8');
      keys.push({
        domain,
        selector: file.slice(0, -'.pem'.length),
        algorithm: algorithmOf(privateKeyPem),
        privateKeyPem,
        publicKey: publicKeyRecordValue(privateKeyPem),
      });
    }
  }
  return keys;
}

export function writeKey(dir: string, key: DkimKeyMaterial): string {
  const domainDir = join(dir, key.domain);
  mkdirSync(domainDir, { recursive: true, mode: 0o700 });
  const path = join(domainDir, `${key.selector}.pem`);
  writeFileSync(path, key.privateKeyPem, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return path;
}
