// Types of bin/check-heap.js (plain JavaScript, since bin/quorumlab.js runs it before any TypeScript loader).

/** V8 settings for a check of a large history. */
export const CHECK_HEAP_FLAGS: readonly string[];
/** Those for a cart workload's history. */
export const CART_CHECK_HEAP_FLAGS: readonly string[];
/** Histories from this size on are checked in a node started with CHECK_HEAP_FLAGS. */
export const CHECK_HEAP_MIN_BYTES: number;
/** Runs a `check` of a large history in a sized child node and returns its exit code; undefined: check here. */
export function checkInSizedHeap(argv?: readonly string[]): number | undefined;
