// The one mapping from a core result (node/core/api.ts) to what a client learns from it: Jepsen's ok / fail /
// info, and the HTTP status and error body that say the same thing over the wire. The HTTP API answers with
// it and the simulation's client records it, so a history from the sim means what a history over HTTP means
// (workloads/client.ts documents the rule; workloads/http-client.ts reads it back from the status).
import type { BadRequest, QuorumError } from './core/api.js';

/** Whether an operation can have changed state: a write that fails ambiguously is `info`, a read `fail`. */
export type OpClass = 'read' | 'write';

/** Every result the core's client calls return: a success of some shape, or one of two refusals. */
export type CoreResult = { readonly ok: true } | QuorumError | BadRequest;

/** A refusal as the client sees it: Jepsen's outcome plus the HTTP answer that carries it. */
export interface RefusalAnswer {
  readonly type: 'fail' | 'info';
  /** The error text recorded in a history. */
  readonly error: string;
  readonly status: number;
  readonly code: string;
  /** A human sentence for the HTTP error body. */
  readonly message: string;
  /** Extra fields of the HTTP error body (a quorum error says how many replicas were needed and replied). */
  readonly extra: Record<string, unknown>;
}

/**
 * Maps a core refusal. A missed quorum is 503: `fail` on a read (it returned nothing), `info` on a write
 * (Dynamo does not roll back the replicas that stored it, so it may still become visible). A refused request
 * is 400 and `fail` either way: the core refused before writing anything. `what` completes the HTTP message
 * ("Only 1 of the 2 replicas needed <what> in time."); it names the operation and changes nothing else.
 */
export function refusalAnswer(result: QuorumError | BadRequest, op: OpClass, what = op === 'read' ? 'answered' : 'acknowledged the write'): RefusalAnswer {
  if (result.error === 'quorum') {
    const { needed, replied } = result;
    return {
      type: op === 'read' ? 'fail' : 'info',
      error: `quorum: needed ${needed}, replied ${replied}`,
      status: 503,
      code: 'quorum',
      message: `Only ${replied} of the ${needed} replicas needed ${what} in time.`,
      extra: { needed, replied },
    };
  }
  const message = result.message && result.message.length > 0 ? result.message : 'The request was refused.';
  return {
    type: 'fail',
    error: `${result.error}: ${result.message}`,
    status: 400,
    code: result.error,
    message: /[.!?]$/.test(message) ? message : `${message}.`,
    extra: {},
  };
}

/**
 * The success status of a read: 404 when only tombstones (or nothing) remain, 200 for one live value, 300
 * for siblings. All three are `ok`: the read happened and returned what it found.
 */
export function readStatus(liveValues: number): 200 | 300 | 404 {
  return liveValues === 0 ? 404 : liveValues === 1 ? 200 : 300;
}

/** The success status of a write (put, delete, cart add or remove): 204, `ok`. */
export const writeStatus = 204;
