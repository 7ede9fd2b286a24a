// Bounded evidence: verdicts carry the first examples and full counts, never unbounded lists.

export const EXAMPLE_LIMIT = 20;

/** Collects at most `limit` examples while counting all of them. */
export class Examples<T> {
  count = 0;
  readonly examples: T[] = [];
  constructor(private readonly limit = EXAMPLE_LIMIT) {}
  add(example: T | (() => T)): void {
    this.count++;
    if (this.examples.length < this.limit) {
      this.examples.push(typeof example === 'function' ? (example as () => T)() : example);
    }
  }
  toJSON(): { count: number; examples: T[] } {
    return { count: this.count, examples: this.examples };
  }
}

/** Quantiles of an unsorted numeric array (sorted in place). Nearest-rank; null when empty. */
export function quantiles(values: number[], qs: readonly number[] = [0.5, 0.9, 0.99, 0.999]): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  // A typed array sorts numerically without calling a comparator, several times faster than
  // Array#sort((a, b) => a - b) on the hundreds of thousands of latencies of a long run. The sorted values are
  // copied back because callers were promised an in-place sort. The constructor copies an array directly;
  // Float64Array.from goes through the iterator protocol, which cost more than the sort itself.
  const sorted = new Float64Array(values).sort();
  for (let i = 0; i < sorted.length; i++) values[i] = sorted[i]!;
  for (const q of qs) {
    const name = `p${Math.round(q * 1000) / 10}`;
    out[name] = values.length === 0 ? null : values[Math.min(values.length - 1, Math.max(0, Math.ceil(q * values.length) - 1))]!;
  }
  out['max'] = values.length === 0 ? null : values[values.length - 1]!;
  return out;
}

export const round = (x: number, digits = 6): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};
