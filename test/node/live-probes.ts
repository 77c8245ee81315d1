// What test/node/live-config.test.ts asks each MTA pod, on the pod's own IP: does it take a
// recipient, which certificate does STARTTLS present, which bundle revision is in force, and
// when did the kubelet last swap its bundle volume; and a command run with input, for dkimpy.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { dirs } from '../harness/node/layout.ts';
import type { Pod } from '../harness/node/workloads.ts';
import { playTranscript, SmtpWire } from '../harness/smtp-transcript.ts';

/** The chart's MX listener port inside the pod. */
export const MX_PORT = 2525;

/** An MX dialog up to RCPT TO:<recipient>, expecting `reply` (a glob) to it, then QUIT. */
export const rcptTranscript = (recipient: string, reply: string) => `
s: 220 *
c: EHLO client.test
s: 250 *
c: MAIL FROM:<someone@elsewhere.test>
s: 250 *
c: RCPT TO:<${recipient}>
s: ${reply}
c: QUIT
s: 221 *`;

/** Whether the pod answers `reply` (a glob) to RCPT TO:<recipient> on its MX listener. */
export async function answers(pod: Pod, recipient: string, reply: string): Promise<boolean> {
  try {
    await playTranscript({ host: pod.status.podIP!, port: MX_PORT, timeoutMs: 5_000 }, rcptTranscript(recipient, reply));
    return true;
  } catch {
    return false;
  }
}

/** STARTTLS on the pod's MX listener (with SNI `servername`, or none); the certificate's SHA-256 fingerprint. */
export async function servedCertificate(pod: Pod, servername?: string): Promise<string> {
  const wire = await SmtpWire.open({ host: pod.status.podIP!, port: MX_PORT }, 10_000);
  try {
    await wire.readReply();
    wire.send('EHLO client.test\r\n');
    await wire.readReply();
    wire.send('STARTTLS\r\n');
    assert.match((await wire.readReply()).at(-1) ?? '', /^220 /);
    await wire.startTls(servername);
    return wire.tls!.getPeerX509Certificate()!.fingerprint256;
  } finally {
    wire.destroy();
  }
}

/** Whether the pod has the bundle `revision` in force (its /metrics). */
export async function inForce(pod: Pod, revision: string): Promise<boolean> {
  const res = await fetch(`http://${pod.status.podIP}:9090/metrics`, { signal: AbortSignal.timeout(5_000) });
  return (await res.text()).includes(`stafette_config_bundle_info{revision="${revision}"} 1`);
}

/** When the kubelet last swapped the pod's bundle volume: the mtime of its `..data` symlink. */
export function volumeSwappedAt(pod: Pod): number {
  return lstatSync(join(dirs.kubelet, 'pods', pod.metadata.uid!, 'volumes', 'kubernetes.io~projected', 'bundle', '..data')).mtimeMs;
}

export function run(command: string, args: readonly string[], input: Buffer): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(command, [...args], { encoding: 'buffer', timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) || 1 : 0, stdout: stdout.toString(), stderr: stderr.toString() }),
    );
    child.stdin!.end(input);
  });
}
