// Watching a resource reliably with client-node's informer (ListWatch).
//
// Known pitfalls (docs/architecture.md §4.2) and what this does about them:
//   - ListWatch reconnects by itself only after timeouts; any other error stops it for
//     good, so on 'error' it is started again after a delay (with backoff);
//   - watches have gone silent for hours in the field, so the informer is also
//     restarted on a fixed period, which relists and re-delivers every object: the
//     controllers are level-based and treat that as "check again".
// Several namespaces are several informers behind one cache view.
import { CoreV1Api, CustomObjectsApi, KubeConfig, makeInformer, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../../../observability/logger.ts';

export type ChangeHandler<T> = (object: T, verb: 'add' | 'update' | 'delete') => void;

export interface WatchedResource<T> {
  /** Objects in the cache, across the watched namespaces. */
  list(): T[];
  get(namespace: string, name: string): T | undefined;
  /** Resolves once every namespace has been listed. */
  synced: Promise<void>;
  stop(): Promise<void>;
}

export interface ResourceSource {
  /** e.g. "/apis/stafette.dev/v1alpha1/namespaces/mail/maildomains" */
  path: string;
  list: () => Promise<KubernetesListObject<KubernetesObject>>;
  /** Only objects with these labels are listed and watched (the list function must send it too). */
  labelSelector?: string;
}

export function customResourceSource(kc: KubeConfig, group: string, version: string, plural: string, namespace: string | null): ResourceSource {
  const api = kc.makeApiClient(CustomObjectsApi);
  if (namespace === null) {
    return { path: `/apis/${group}/${version}/${plural}`, list: () => api.listClusterCustomObject({ group, version, plural }) };
  }
  return {
    path: `/apis/${group}/${version}/namespaces/${namespace}/${plural}`,
    list: () => api.listNamespacedCustomObject({ group, version, namespace, plural }),
  };
}

/** The Secrets of a namespace (or all) that match a label selector: the list and the watch both send it. */
export function secretSource(kc: KubeConfig, namespace: string | null, labelSelector: string): ResourceSource {
  const api = kc.makeApiClient(CoreV1Api);
  if (namespace === null) {
    return {
      path: '/api/v1/secrets',
      labelSelector,
      list: () => api.listSecretForAllNamespaces({ labelSelector }),
    };
  }
  return {
    path: `/api/v1/namespaces/${namespace}/secrets`,
    labelSelector,
    list: () => api.listNamespacedSecret({ namespace, labelSelector }),
  };
}

export interface WatchOptions {
  logger: Logger;
  /** Restart (and so relist) this often. */
  relistMs?: number;
  restartDelayMs?: number;
  /** Called when an informer errors, for metrics. */
  onError?: (what: string) => void;
}

export function watchResource<T extends KubernetesObject>(
  kc: KubeConfig,
  what: string,
  sources: ResourceSource[],
  onChange: ChangeHandler<T>,
  options: WatchOptions,
): WatchedResource<T> {
  const relistMs = options.relistMs ?? 10 * 60_000;
  let stopped = false;
  const timers = new Set<NodeJS.Timeout>();
  // fn may be async: its promise is dropped on purpose, each caller catches its own failures.
  const later = (fn: () => void | Promise<void>, ms: number) => {
    const t = setTimeout(() => {
      timers.delete(t);
      void fn();
    }, ms);
    t.unref();
    timers.add(t);
  };
  const informers = sources.map((source) => {
    const informer = makeInformer<T>(kc, source.path, source.list as () => Promise<KubernetesListObject<T>>, source.labelSelector);
    informer.on('add', (o) => onChange(withoutManagedFields(o), 'add'));
    informer.on('update', (o) => onChange(withoutManagedFields(o), 'update'));
    informer.on('delete', (o) => onChange(withoutManagedFields(o), 'delete'));
    let failures = 0;
    informer.on('connect', () => {
      failures = 0;
    });
    informer.on('error', (err: unknown) => {
      if (stopped) return;
      failures += 1;
      options.onError?.(what);
      const delay = Math.min(30_000, (options.restartDelayMs ?? 1000) * 2 ** Math.min(failures - 1, 5));
      options.logger.warn('informer stopped; restarting', { resource: what, path: source.path, error: err, retryInMs: delay });
      later(() => {
        if (!stopped) informer.start().catch(() => {});
      }, delay);
    });
    const relist = () =>
      later(async () => {
        if (stopped) return;
        await informer.stop();
        if (!stopped) await informer.start().catch(() => {});
        relist();
      }, relistMs);
    relist();
    return informer;
  });

  const synced = Promise.all(informers.map((i) => startUntilListed(i))).then(() => undefined);
  return {
    // Two selectors may both match an object (a Secret with both labels): it is listed once.
    list: () => {
      const all = informers.flatMap((i) => [...i.list()]);
      if (informers.length < 2) return all;
      const seen = new Set<string>();
      return all.filter((o) => {
        const key = `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
    },
    get: (namespace, name) => {
      for (const i of informers) {
        const found = i.get(name, namespace);
        if (found) return found;
      }
      return undefined;
    },
    synced,
    async stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      await Promise.all(informers.map((i) => i.stop()));
    },
  };
}

/**
 * Drops metadata.managedFields from a cached object, in place: the informer hands its
 * handlers the very object it caches. Server-side apply's field sets are often larger than
 * the object itself, and nothing here reads them (client-go operators commonly give their
 * informers the same transform).
 */
export function withoutManagedFields<T extends KubernetesObject>(object: T): T {
  if (object.metadata?.managedFields !== undefined) delete object.metadata.managedFields;
  return object;
}

/** start() lists first; a failed first list is retried until it succeeds. */
async function startUntilListed(informer: { start(): Promise<void> }): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      await informer.start();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, Math.min(10_000, 500 * 2 ** Math.min(attempt, 5))).unref());
    }
  }
}
