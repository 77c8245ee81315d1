// Kubernetes quantities as the CRDs allow them for sizes: 25Mi, 10M, 1048576.

const factors: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };

/** Bytes for a quantity; throws for anything the CRD pattern does not allow. */
export function parseQuantity(value: number | string): number {
  if (typeof value === 'number') return value;
  const match = /^([0-9]+)(Ki|Mi|Gi|k|M|G)?$/.exec(value);
  if (!match) throw new Error(`${value} is not a quantity such as 25Mi`);
  return Number(match[1]) * (factors[match[2] ?? ''] ?? 1);
}
