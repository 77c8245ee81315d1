// How the tests and benchmarks run `stafette mta` as a process on loopback: one spelling of
// the command line, so a renamed flag is fixed once. The pieces that differ (listeners,
// delivery, checks) are options; anything else goes in `extra`.
import { join, resolve } from 'node:path';

const repoRoot = resolve(import.meta.dirname, '../..');

export interface TestMtaArgs {
  readonly configDir: string;
  readonly secretDir: string;
  /** nats-server URL(s), as --nats takes them. */
  readonly nats: string;
  readonly instance?: string;
  /** Listeners to open (default: mx). */
  readonly listeners?: readonly ('mx' | 'submission')[];
  readonly mxPort: number;
  readonly submissionPort?: number;
  readonly opsPort: number;
  /** Flags appended as given. */
  readonly extra?: readonly string[];
}

/** The argv after `node`: the CLI entry and its flags, every listener on 127.0.0.1. */
export function testMtaArgv(a: TestMtaArgs): string[] {
  const listeners = a.listeners ?? ['mx'];
  return [
    join(repoRoot, 'cli/stafette.ts'),
    'mta',
    ...['--config-dir', a.configDir, '--secret-dir', a.secretDir, '--nats', a.nats],
    ...(a.instance ? ['--instance', a.instance] : []),
    ...['--listeners', listeners.join(','), '--smtp-host', '127.0.0.1', '--mx-port', String(a.mxPort)],
    ...(a.submissionPort !== undefined ? ['--submission-port', String(a.submissionPort)] : []),
    // Tests connect at once and from loopback: no greeting delay, no PTR lookups of 127.0.0.1.
    ...['--mx-greeting-delay', '0', '--no-mx-reverse-dns'],
    ...['--ops-host', '127.0.0.1', '--ops-port', String(a.opsPort)],
    ...(a.extra ?? []),
  ];
}
