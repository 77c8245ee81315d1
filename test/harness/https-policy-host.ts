// A remote domain's MTA-STS policy host for the outbound tests: a plain node:https server on
// port 443 (RFC 8461 §3.3 fixes the port, and senders, ours included, connect to 443 only) of a
// 127.x.y.z address of its own, with a certificate from the test CA for mta-sts.<domain>. It
// serves /.well-known/mta-sts.txt from a policy the test may change, and counts the fetches
// (how the tests see that a cached policy was not fetched again). Binding 443 needs root or
// CAP_NET_BIND_SERVICE (the tests run as root, as CI does).
import { createServer, type Server } from 'node:https';
import type { TestCa } from './test-ca.ts';

export interface PolicyHost {
  /** The address mta-sts.<domain> must resolve to (an A record in the test zone). */
  readonly address: string;
  /** Requests for the policy so far. */
  readonly fetches: number;
  /** Replaces the policy text served from now on. */
  setPolicy(text: string): void;
  stop(): Promise<void>;
}

export async function startPolicyHost(domain: string, policy: string, ca: TestCa): Promise<PolicyHost> {
  const tls = await ca.issue([`mta-sts.${domain}`]);
  let text = policy;
  let fetches = 0;
  const server: Server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    if (req.url === '/.well-known/mta-sts.txt' && req.headers.host === `mta-sts.${domain}`) {
      fetches++;
      res.writeHead(200, { 'content-type': 'text/plain' }).end(text);
    } else {
      res.writeHead(404).end();
    }
  });
  // A distinct loopback address per host, so hosts of several tests (and helpers) never collide on 443.
  for (let attempt = 0; ; attempt++) {
    const address = `127.${100 + Math.floor(Math.random() * 100)}.${Math.floor(Math.random() * 250) + 1}.${Math.floor(Math.random() * 250) + 1}`;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(443, address, () => {
          server.off('error', reject);
          resolve();
        });
      });
      return {
        address,
        get fetches() {
          return fetches;
        },
        setPolicy: (t) => {
          text = t;
        },
        stop: () =>
          new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
          }),
      };
    } catch (err) {
      if (attempt >= 10 || (err as { code?: string }).code === 'EACCES') throw err;
    }
  }
}
