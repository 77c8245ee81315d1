// Conditions as the Kubernetes API conventions define them: a map keyed by type, each
// with a CamelCase reason and a human message; lastTransitionTime changes only when
// the status does, so writing the same facts twice is a no-op.
import type { Condition } from '../../../crds/src/index.ts';

export type ConditionInput = Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;

/**
 * The new condition list: `inputs` replace conditions of the same type, keeping the old
 * lastTransitionTime when the status is unchanged. Types not in `inputs` are dropped,
 * because every reconcile states every condition it owns.
 */
export function mergeConditions(
  previous: readonly Condition[] | undefined,
  inputs: readonly ConditionInput[],
  generation: number | undefined,
  now: Date,
): Condition[] {
  return inputs.map((input) => {
    const old = previous?.find((c) => c.type === input.type);
    const lastTransitionTime = old && old.status === input.status ? old.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z');
    return { ...input, observedGeneration: generation, lastTransitionTime };
  });
}

/** Whether two statuses say the same thing (ignoring key order). */
export function sameStatus(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>)
            .filter(([, x]) => x !== undefined)
            .sort(([x], [y]) => (x < y ? -1 : 1)),
        )
      : v,
  );
}
