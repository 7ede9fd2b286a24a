/**
 * quorumlab checkers: pure functions `history → verdict with evidence`.
 *
 * HOW WORKLOADS MUST RECORD OPS (the contract the checkers rely on; see also ../shared/HISTORY.md)
 * ================================================================================================
 * Every client op is an `invoke` followed by exactly one `ok` | `fail` | `info` of the same process, `f` and
 * `key`. `time` is nanoseconds since the run started. Every client op carries `key`.
 *
 * Register workload (`register`, and `pbs`), over /kv:
 * - put    invoke: `{f:"put", key, value: "<unique string, e.g. p3-17>", context?: "<ctx sent>", readFrom?: string[]}`
 *            `context` absent = blind write. What a write supersedes is what the earlier op that RECEIVED the same
 *            context string observed (links.ts): an ok get's values, or an ok write's own value (unless the node
 *            returned the very context it was sent). `readFrom` is an optional shortcut, used only when the
 *            history does not show the context being received.
 *          ok: `{f:"put", key, value: <same string>, context: "<new ctx>"}`; a write that missed W is `info`
 *            (it may have landed on some replicas); `fail` only when certainly not applied (4xx).
 * - delete invoke: `{f:"delete", key, context?, readFrom?}` (no value); completions as put.
 * - get    invoke: `{f:"get", key}`; ok: `{f:"get", key, value: string[], context}`: the sibling values, `[]` = not
 *            found; the context received is what links later writes to this read. A read that missed R is `fail`.
 *
 * Cart workload (`cart`: server-side CRDT on /cart; `cart-kv`: client-side merge over /kv, same recording):
 * - add    invoke/ok: `{f:"add", key, value: "<item>"}` (quantity 1; the same item may be added again later).
 * - remove invoke/ok: `{f:"remove", key, value: "<item>", context: "<ctx of the read it acts on>", readIndex?}`:
 *            the read it observed is the one that received that context; `readIndex` (the index of that read's ok
 *            completion) is an optional shortcut.
 * - read   invoke: `{f:"read", key}`; ok: `{f:"read", key, value: {"<item>": <qty>, ...}, context}`.
 * - Final reads (after heal and quiesce) are ordinary reads with `final: true`.
 *
 * Final replica states (recorded by the harness after the final reads, no invoke):
 *   `{process:"final", type:"ok", f:"local", key, node, final:true, value: [...live values] | {"<item>": qty}}`,
 *   or `type:"info"` when the replica was unreachable.
 *
 * Nemesis: `{process:"nemesis", type:"invoke"|"info", f, value}`. Fault f names: partition, kill, pause,
 * clock-skew, clock-bump, clock-strobe, join, leave, disk-loss; undo f names: heal, restart, resume, clock-reset,
 * disk-restart. A fault
 * window runs from a fault's invoke to the completion of its undo; "heal time" is the last undo completion.
 *
 * Checker options (n, r, w, sloppy, conflicts) come from config.json.
 */

import { mergeValidity, type CheckerResult, type HistoryOp, type Validity } from './history.js';
import type { CheckOptions } from './options.js';
import { checkConvergence } from './convergence.js';
import { checkCart } from './cart.js';
import { checkRegister } from './register.js';
import { checkQuorum } from './quorum.js';
import { checkSiblings } from './siblings.js';
import { checkAvailability } from './availability.js';
import { checkPerf } from './perf.js';
import { checkSession } from './session.js';

export type { CheckOptions } from './options.js';
export { DEFAULT_CHECK_OPTIONS } from './options.js';
export type { CheckerResult, HistoryOp, Validity } from './history.js';

export type Checker = (history: readonly HistoryOp[], options: CheckOptions) => CheckerResult;

export const checkers: Record<string, Checker> = {
  convergence: checkConvergence,
  cart: checkCart,
  register: checkRegister,
  quorum: checkQuorum,
  siblings: checkSiblings,
  availability: checkAvailability,
  perf: checkPerf,
  session: checkSession,
};

/** Which checkers apply to a workload. Unknown workloads get the workload-independent ones. */
export function checkersFor(workload: string): string[] {
  switch (workload) {
    case 'register':
      return ['register', 'quorum', 'session', 'convergence', 'siblings', 'availability', 'perf'];
    case 'pbs':
      return ['quorum', 'register', 'session', 'siblings', 'availability', 'perf'];
    case 'cart':
    case 'cart-kv':
      return ['cart', 'convergence', 'availability', 'perf'];
    default:
      return ['availability', 'perf'];
  }
}

export interface CheckAllResult {
  valid: Validity;
  checkers: Record<string, CheckerResult>;
}

/**
 * Runs the named checkers (default: those for options.workload). A checker that throws yields
 * `{valid: "unknown", error}` rather than aborting the others; verdicts compose with mergeValidity.
 */
export function checkAll(history: readonly HistoryOp[], options: CheckOptions, names?: readonly string[]): CheckAllResult {
  const results: Record<string, CheckerResult> = {};
  for (const name of names ?? checkersFor(options.workload)) {
    const checker = checkers[name];
    if (checker === undefined) {
      results[name] = { valid: 'unknown', error: `no checker named "${name}" (known: ${Object.keys(checkers).join(', ')})` };
      continue;
    }
    try {
      results[name] = checker(history, options);
    } catch (err) {
      results[name] = { valid: 'unknown', error: err instanceof Error ? err.message : String(err) };
    }
  }
  return { valid: mergeValidity(Object.values(results).map((r) => r.valid)), checkers: results };
}
