// Leader election on a coordination.k8s.io/v1 Lease, as client-go does it, so that
// of several operator replicas exactly one writes. client-node has no helper for this.
//
// A candidate takes the lease when it is free or expired (renewTime + duration in the
// past), and the leader renews it every renewMs. Every write is a replace guarded by
// the lease's resourceVersion, so two candidates racing for an expired lease cannot
// both win: the loser gets a 409 conflict and stays a follower. A leader that fails to
// renew within the lease duration stops leading (onStoppedLeading) before another
// replica can take over, because the others wait for the full duration to pass.
import { V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from '../../../observability/logger.ts';
import { describeApiError, isStatus, type KubeClient } from './client.ts';

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewMs?: number;
  retryMs?: number;
  now?: () => Date;
  logger: Logger;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
}

export interface LeaderElector {
  isLeader(): boolean;
  /** Releases the lease if held (so a successor need not wait for it to expire) and stops. */
  stop(): Promise<void>;
}

/** Lease times are MicroTime: the API server refuses millisecond precision. */
function microTime(d: Date): V1MicroTime {
  return new V1MicroTime(d.getTime());
}

export function startLeaderElection(options: LeaderElectionOptions): LeaderElector {
  const durationMs = options.leaseDurationMs ?? 15_000;
  // Renew well within the lease, so one slow round trip never lets it lapse.
  const renewMs = options.renewMs ?? Math.min(5_000, durationMs / 3);
  const retryMs = options.retryMs ?? Math.min(2_000, durationMs / 5);
  const now = options.now ?? (() => new Date());
  const { client, namespace, name, identity, logger } = options;
  let leader = false;
  let stopped = false;
  let lastRenewed = 0;
  let timer: NodeJS.Timeout | undefined;

  const desired = (current: V1Lease | null, takingOver: boolean): V1Lease => {
    const t = microTime(now());
    const spec = current?.spec ?? {};
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace, resourceVersion: current?.metadata?.resourceVersion },
      spec: {
        holderIdentity: identity,
        leaseDurationSeconds: Math.ceil(durationMs / 1000),
        acquireTime: takingOver ? t : (spec.acquireTime ?? t),
        renewTime: t,
        leaseTransitions: (spec.leaseTransitions ?? 0) + (takingOver && current ? 1 : 0),
      },
    };
  };

  const tryAcquireOrRenew = async (): Promise<boolean> => {
    const current = await client.readLease(namespace, name);
    if (!current) {
      await client.createLease(namespace, desired(null, true));
      return true;
    }
    const spec = current.spec ?? {};
    const holder = spec.holderIdentity;
    const renewed = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
    const expired = renewed + (spec.leaseDurationSeconds ?? 0) * 1000 < now().getTime();
    if (holder && holder !== identity && !expired) return false;
    await client.replaceLease(namespace, desired(current, holder !== identity));
    return true;
  };

  const loop = async () => {
    if (stopped) return;
    try {
      const held = await tryAcquireOrRenew();
      if (held) lastRenewed = now().getTime();
      if (held && !leader) {
        leader = true;
        logger.info('became the leader', { lease: `${namespace}/${name}`, identity });
        options.onStartedLeading();
      }
      if (!held && leader) lose('another replica holds the lease');
    } catch (error) {
      if (!isStatus(error, 409)) logger.warn('lease update failed', { lease: `${namespace}/${name}`, error: describeApiError(error) });
      // Stop leading before the lease could have expired for the others.
      if (leader && now().getTime() - lastRenewed > durationMs - renewMs) lose('could not renew the lease in time');
    }
    if (!stopped) timer = setTimeout(() => void loop(), leader ? renewMs : retryMs);
  };

  const lose = (why: string) => {
    leader = false;
    logger.warn('stopped leading', { lease: `${namespace}/${name}`, identity, why });
    options.onStoppedLeading();
  };

  void loop();
  return {
    isLeader: () => leader,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (!leader) return;
      leader = false;
      try {
        const current = await client.readLease(namespace, name);
        if (current?.spec?.holderIdentity === identity) {
          await client.replaceLease(namespace, { ...current, spec: { ...current.spec, holderIdentity: undefined, renewTime: undefined } });
        }
      } catch (error) {
        logger.warn('could not release the lease', { error: describeApiError(error) });
      }
    },
  };
}
