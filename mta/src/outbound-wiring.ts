// The outbound mail standards of the MTA process, composed (main.ts calls this once): the
// MTA-STS policy store and the TLS-RPT counts in JetStream key-value buckets shared by every
// pod, the `_smtp._tls` lookups through the DNS cache, and the loop that mails each day's
// TLS-RPT reports (one pod per report). What they decide per delivery is
// transport/outbound-standards.ts.
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../../observability/logger.ts';
import type { LoadedBundle } from './config/watch-bundle.ts';
import { reportListener } from './dkim/sign-policy.ts';
import type { CachingResolver } from './dns/dns-cache.ts';
import { createPolicyStore, mailauthFetch, openPolicyBucket } from './mta-sts/policy-store.ts';
import type { StandardsMetrics } from './ops/standards-metrics.ts';
import { newQueueId, type QueuePublisher, type QueueSettings } from './queue/index.ts';
import { reportDestinations } from './tls-report/report-policy.ts';
import { startReportSender } from './tls-report/report-sender.ts';
import { createTlsReportRecorder, openTlsReportBucket } from './tls-report/report-store.ts';
import type { OutboundStandards } from './transport/outbound-standards.ts';

export interface OutboundWiring {
  readonly nc: NatsConnection;
  readonly settings: QueueSettings;
  readonly publisher: QueuePublisher;
  readonly getConfig: () => LoadedBundle;
  readonly hostname: string;
  readonly dnsCache: Pick<CachingResolver, 'resolve'>;
  readonly metrics: StandardsMetrics;
  readonly logger: Logger;
  readonly instance: string;
  readonly now: () => number;
}

export async function startOutboundStandards(w: OutboundWiring): Promise<{ transport: OutboundStandards; stop(): Promise<void> }> {
  const kvm = new Kvm(w.nc);
  const resolver = (name: string, type: string) => w.dnsCache.resolve(name, type as never);
  const policies = await openPolicyBucket(kvm, w.settings.replicas);
  const reportsKv = await openTlsReportBucket(kvm, w.settings.replicas);
  const recorder = createTlsReportRecorder({ kv: reportsKv, now: w.now, onError: (err) => w.logger.warn('TLS-RPT counts could not be flushed', { err }) });
  const sender = startReportSender({
    kv: reportsKv,
    resolver,
    pod: w.instance,
    logger: w.logger,
    now: w.now,
    observer: (o) => w.metrics.tlsReport(o),
    identity: () => {
      const first = w.getConfig().bundle.domains[0];
      if (!first) return null;
      return { organization: `Stafette at ${w.hostname}`, submitter: w.hostname, contact: `postmaster@${first.domain}`, from: `postmaster@${first.domain}` };
    },
    send: async (mail) => {
      const now = w.now();
      await w.publisher.enqueue(
        {
          queueId: newQueueId(now),
          receivedAt: new Date(now).toISOString(),
          listener: reportListener,
          client: { ip: '127.0.0.1', helo: 'tls-report', tls: null, authUser: null },
          envelope: { mailFrom: { address: mail.from, params: [] }, rcptTo: mail.to.map((address) => ({ address, params: [] })) },
        },
        mail.body,
      );
    },
  });
  const transport: OutboundStandards = {
    mtaSts: createPolicyStore({ kv: policies, fetch: mailauthFetch(resolver), now: w.now }),
    tlsReports: { recorder, wants: async (domain) => (await reportDestinations(domain, resolver)) !== null },
    observer: {
      tlsSession: (type, result) => w.metrics.tlsSession(type, result),
      srs: (op, result) => w.metrics.srs(op, result),
      policyFetch: (o) => w.metrics.policyFetch(o as never),
    },
    now: w.now,
  };
  return {
    transport,
    async stop() {
      sender.stop();
      await recorder.stop().catch((err: unknown) => w.logger.warn('TLS-RPT counts could not be flushed at stop', { err }));
    },
  };
}
