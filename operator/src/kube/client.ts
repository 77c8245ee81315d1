// All Kubernetes API calls of the operator, behind one small interface, so the
// controllers read as logic and tests can see every write. The implementation uses
// @kubernetes/client-node: server-side apply with a fixed field manager, forced on the
// objects we own (the API conventions recommend it for controllers), and status
// written through the status subresource, also with server-side apply.
import {
  ApiException,
  ApisApi,
  CoordinationV1Api,
  CustomObjectsApi,
  EventsV1Api,
  HttpMethod,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  RequestContext,
  setHeaderOptions,
  V1MicroTime,
  type KubernetesObject,
  type V1Lease,
} from '@kubernetes/client-node';
import { apiVersion, crdFiles, group, version, type Kind } from '../../../crds/src/index.ts';
import type { EventSeries } from './event-recorder.ts';

export const fieldManager = 'stafette-operator';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface EventInput {
  regarding: { apiVersion: string; kind: string; name: string; namespace: string; uid?: string };
  type: 'Normal' | 'Warning';
  reason: string;
  action: string;
  note: string;
}

export interface KubeClient {
  /** Server-side apply, forcing ownership of the fields we set; resolves to the object as stored. */
  apply<T extends KubeObject>(object: T): Promise<T>;
  /** Creates an object; resolves false when it exists already. */
  createIfAbsent(object: KubeObject): Promise<boolean>;
  /** Server-side apply of `status` on a Stafette resource's status subresource. */
  applyStatus(ref: { kind: Kind; namespace: string; name: string }, status: unknown): Promise<void>;
  /** Merge-patches metadata annotations (allowed on immutable Secrets). */
  annotate(ref: { apiVersion: string; kind: string; namespace: string; name: string }, annotations: Record<string, string | null>): Promise<void>;
  get(ref: { apiVersion: string; kind: string; namespace: string; name: string }): Promise<KubeObject | null>;
  delete(ref: { apiVersion: string; kind: string; namespace: string; name: string }): Promise<void>;
  /** Whether the API serves this group/version (e.g. cert-manager.io/v1 for Certificates). */
  serves(apiVersion: string, kind: string): Promise<boolean>;
  /** Creates an events.k8s.io/v1 Event (kube/event-recorder.ts decides when); resolves to its name. */
  createEvent(event: EventInput, eventTime: Date, series: EventSeries | null, reportingInstance: string): Promise<string>;
  /** Merge-patches an Event's series; resolves false when the Event no longer exists (its TTL passed). */
  patchEventSeries(namespace: string, name: string, series: EventSeries): Promise<boolean>;
  readLease(namespace: string, name: string): Promise<V1Lease | null>;
  createLease(namespace: string, lease: V1Lease): Promise<V1Lease>;
  /** Replaces a lease; fails with a conflict (409) when its resourceVersion is stale. */
  replaceLease(namespace: string, lease: V1Lease): Promise<V1Lease>;
}

export function isStatus(error: unknown, code: number): boolean {
  return error instanceof ApiException && error.code === code;
}

/**
 * Whether the API server refused a request for good: a 4xx other than a timeout (408), a
 * conflict (409) or throttling (429) comes back the same until someone changes RBAC, a
 * policy or the object (a 403, a 422 from validation or an admission policy, a 404 API).
 */
export function isRefused(error: unknown): boolean {
  return error instanceof ApiException && error.code >= 400 && error.code < 500 && ![408, 409, 429].includes(error.code);
}

/** A short description of an API error for logs and conditions, without the whole body. */
export function describeApiError(error: unknown): string {
  if (error instanceof ApiException) {
    const body = error.body as { message?: string } | string | undefined;
    const message = typeof body === 'string' ? tryMessage(body) : body?.message;
    return `${error.code}: ${message ?? error.message.split('\n')[0]}`;
  }
  return error instanceof Error ? error.message : String(error);
}

function tryMessage(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { message?: string }).message;
  } catch {
    return body.slice(0, 200);
  }
}

export function kubeClient(kc: KubeConfig): KubeClient {
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const events = kc.makeApiClient(EventsV1Api);
  const leases = kc.makeApiClient(CoordinationV1Api);
  const discovery = kc.makeApiClient(ApisApi);
  const header = (ref: { apiVersion: string; kind: string; namespace: string; name: string }) =>
    ({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { namespace: ref.namespace, name: ref.name } }) as KubernetesObject & {
      metadata: { name: string; namespace: string };
    };

  return {
    async apply(object) {
      const copy = { ...object, metadata: { ...object.metadata } };
      delete copy.metadata.resourceVersion;
      // The API server answers with the stored object of the same kind: what was applied, plus what others (status) wrote.
      return await objects.patch<typeof object>(copy, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply);
    },
    async createIfAbsent(object) {
      try {
        await objects.create(object, undefined, undefined, fieldManager);
        return true;
      } catch (error) {
        if (isStatus(error, 409)) return false;
        throw error;
      }
    },
    async applyStatus(ref, status) {
      const body = { apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace }, status };
      if (await applyStatusDirect(kc, ref.namespace, crdFiles[ref.kind].plural, ref.name, body)) return;
      await custom.patchNamespacedCustomObjectStatus(
        {
          group,
          version,
          namespace: ref.namespace,
          plural: crdFiles[ref.kind].plural,
          name: ref.name,
          body,
          fieldManager,
          force: true,
        },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      );
    },
    async annotate(ref, annotations) {
      await objects.patch(
        { ...header(ref), metadata: { ...header(ref).metadata, annotations } } as KubernetesObject,
        undefined,
        undefined,
        fieldManager,
        undefined,
        PatchStrategy.MergePatch,
      );
    },
    async get(ref) {
      try {
        return (await objects.read<KubernetesObject>(header(ref))) as KubeObject;
      } catch (error) {
        if (isStatus(error, 404)) return null;
        throw error;
      }
    },
    async delete(ref) {
      try {
        await objects.delete(header(ref));
      } catch (error) {
        if (!isStatus(error, 404)) throw error;
      }
    },
    async serves(apiVersion) {
      // Discovery is open to every authenticated user, so this needs no permission on the
      // optional API itself (a namespaced Role could never list it cluster-wide).
      const groups = await discovery.getAPIVersions();
      return groups.groups.some((g) => g.versions.some((v) => v.groupVersion === apiVersion));
    },
    async createEvent(event, eventTime, series, reportingInstance) {
      const namespace = event.regarding.namespace;
      const created = await events.createNamespacedEvent({
        namespace,
        body: {
          metadata: { generateName: `${event.regarding.name}-`, namespace },
          eventTime: microTime(eventTime),
          ...(series ? { series: { count: series.count, lastObservedTime: microTime(series.lastObservedTime) } } : {}),
          reportingController: 'stafette.dev/operator',
          reportingInstance,
          action: event.action,
          reason: event.reason,
          regarding: event.regarding,
          note: event.note.slice(0, 1024),
          type: event.type,
        },
      });
      return created.metadata?.name ?? '';
    },
    async patchEventSeries(namespace, name, series) {
      try {
        await events.patchNamespacedEvent(
          { namespace, name, body: { series: { count: series.count, lastObservedTime: microTime(series.lastObservedTime).toISOString() } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
        return true;
      } catch (error) {
        if (isStatus(error, 404)) return false;
        throw error;
      }
    },
    async readLease(namespace, name) {
      try {
        return await leases.readNamespacedLease({ namespace, name });
      } catch (error) {
        if (isStatus(error, 404)) return null;
        throw error;
      }
    },
    createLease: (namespace, lease) => leases.createNamespacedLease({ namespace, body: lease }),
    replaceLease: (namespace, lease) => leases.replaceNamespacedLease({ namespace, name: lease.metadata?.name ?? '', body: lease }),
  };
}

/**
 * The status subresource's server-side apply, sent on the dispatcher client-node would use
 * (kube/connections.ts: the one keep-alive pool) with its authentication, but without its
 * request pipeline: fetch, web streams and the ObjectSerializer took most of the operator's
 * main thread for the ~12,000 status writes of 11,000 resources (issue 15 profile), and a
 * status write needs none of it, its answer is not read. Resolves false when there is no
 * dispatcher to send on (no TLS material: client-node's own path is taken); a refusal
 * throws the ApiException client-node would (isStatus, isRefused, describeApiError).
 */
async function applyStatusDirect(kc: KubeConfig, namespace: string, plural: string, name: string, body: unknown): Promise<boolean> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) return false;
  const url = new URL(server);
  const path = `${url.pathname.replace(/\/$/, '')}/apis/${group}/${version}/namespaces/${encodeURIComponent(namespace)}/${plural}/${encodeURIComponent(name)}/status`;
  const context = new RequestContext(`${url.origin}${path}`, HttpMethod.PATCH);
  await kc.applySecurityAuthentication(context);
  const dispatcher = context.getDispatcher();
  if (!dispatcher) return false;
  const response = await dispatcher.request({
    origin: url.origin,
    path: `${path}?fieldManager=${encodeURIComponent(fieldManager)}&force=true`,
    method: 'PATCH',
    headers: { ...context.getHeaders(), 'content-type': PatchStrategy.ServerSideApply, accept: 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.statusCode < 300) {
    await response.body.dump();
    return true;
  }
  const text = await response.body.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON: the text itself */
  }
  throw new ApiException(response.statusCode, `status patch of ${plural}/${name} refused`, parsed, response.headers as Record<string, string>);
}

/** A metav1.MicroTime (client-node serializes it with microseconds, as the Event API wants). */
function microTime(date: Date): V1MicroTime {
  return new V1MicroTime(date.getTime());
}

/** The same client, calling `onWrite` before each write it sends (for the operator's write metrics). */
export function countingWrites(client: KubeClient, onWrite: (verb: 'apply' | 'status' | 'create' | 'annotate' | 'delete') => void): KubeClient {
  return {
    ...client,
    apply: (object) => (onWrite('apply'), client.apply(object)),
    createIfAbsent: (object) => (onWrite('create'), client.createIfAbsent(object)),
    applyStatus: (ref, status) => (onWrite('status'), client.applyStatus(ref, status)),
    annotate: (ref, annotations) => (onWrite('annotate'), client.annotate(ref, annotations)),
    delete: (ref) => (onWrite('delete'), client.delete(ref)),
  };
}
