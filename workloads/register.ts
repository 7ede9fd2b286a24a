// The register workload: gets, blind puts, read-modify-write puts and deletes over /kv on a few keys.
// Read-modify-writes send the latest causal context the workload holds for the key (by any process) and
// record the values it covers as `readFrom`, so the checkers can tell which versions a write superseded.
// That context is either an ok read's (covering the values it returned) or an ok write's (covering exactly
// the value written, which itself covers what it read): chaining writes through the contexts writes
// return is how clients use them, and the only way to see a node whose returned context covers more than
// the client ever observed ('context-overcovers') silently drop a concurrent acknowledged write.
import type { HistoryOp } from '../checkers/history.js';
import type { NodeClient, ReplicaState } from './client.js';
import {
  decodeText, encodeText, thrownToInfo,
  type OpCompletion, type OpRequest, type Workload, type WorkloadOptions,
} from './workload.js';

/** The last ok read of a key the workload saw: what a read-modify-write builds on. */
interface SeenRead {
  readonly values: string[];
  readonly context: string | undefined;
}

export interface RegisterMix {
  readonly get: number;
  readonly blindPut: number;
  readonly rmwPut: number;
  readonly delete: number;
}

export const defaultRegisterMix: RegisterMix = { get: 0.45, blindPut: 0.2, rmwPut: 0.3, delete: 0.05 };

export function createRegisterWorkload(options: WorkloadOptions & { mix?: RegisterMix }): Workload {
  const random = options.random;
  const keyCount = options.keyCount ?? 5;
  const mix = options.mix ?? defaultRegisterMix;
  const clientOptions = options.clientOptions;
  const keys = Array.from({ length: keyCount }, (_, i) => `reg-${i}`);
  const lastRead = new Map<string, SeenRead>();
  // Each process numbers its own writes, so "<process>-<n>" is unique across the run.
  const writeCount = new Map<number, number>();
  const total = mix.get + mix.blindPut + mix.rmwPut + mix.delete;

  function pickKey(): string {
    return keys[Math.floor(random() * keys.length)]!;
  }

  function nextValue(process: number): string {
    const n = (writeCount.get(process) ?? 0) + 1;
    writeCount.set(process, n);
    return `${process}-${n}`;
  }

  return {
    name: 'register',
    checkerWorkload: 'register',
    keys: () => [...keys],
    next(process: number): OpRequest {
      const key = pickKey();
      let x = random() * total;
      if ((x -= mix.get) < 0) return { f: 'get', key };
      if ((x -= mix.blindPut) < 0) return { f: 'put', key, value: nextValue(process) };
      const seen = lastRead.get(key);
      if ((x -= mix.rmwPut) < 0) {
        // A read-modify-write needs a read to build on; without one it degrades to a blind write.
        if (seen === undefined || seen.context === undefined) return { f: 'put', key, value: nextValue(process) };
        return { f: 'put', key, value: nextValue(process), context: seen.context, readFrom: [...seen.values] };
      }
      // A delete needs a context to say what it removes; without a read to take one from, read instead.
      if (seen === undefined || seen.context === undefined) return { f: 'get', key };
      return { f: 'delete', key, context: seen.context, readFrom: [...seen.values] };
    },
    async perform(client: NodeClient, op: OpRequest): Promise<OpCompletion> {
      try {
        if (op.f === 'get') {
          const out = await client.get(op.key, clientOptions);
          if (out.type !== 'ok') return { type: out.type, error: out.error };
          const values = out.value.values.map(decodeText).sort();
          return { type: 'ok', value: values, ...(out.value.context !== undefined ? { context: out.value.context } : {}) };
        }
        if (op.f === 'put') {
          const out = await client.put(op.key, encodeText(String(op.value)), op.context, clientOptions);
          if (out.type !== 'ok') return { type: out.type, error: out.error };
          return { type: 'ok', value: op.value, ...(out.value.context !== undefined ? { context: out.value.context } : {}) };
        }
        if (op.f === 'delete') {
          const out = await client.delete(op.key, op.context, clientOptions);
          if (out.type !== 'ok') return { type: out.type, error: out.error };
          return { type: 'ok', ...(out.value.context !== undefined ? { context: out.value.context } : {}) };
        }
        return { type: 'fail', error: `register workload cannot perform f=${op.f}` };
      } catch (error) {
        return thrownToInfo(error);
      }
    },
    observe(op: HistoryOp): void {
      if (op.type !== 'ok' || op.key === undefined || op.final === true) return;
      if (op.f === 'get' && Array.isArray(op.value)) {
        lastRead.set(op.key, { values: op.value.map(String), context: op.context });
      } else if (op.f === 'put' && typeof op.context === 'string' && op.context !== '' && op.value !== undefined) {
        // The new version's context covers this value alone (and, through it, what the write read).
        lastRead.set(op.key, { values: [String(op.value)], context: op.context });
      }
    },
    finalRead: (key: string): OpRequest => ({ f: 'get', key, final: true }),
    decodeLocal: decodeRegisterLocal,
  };
}

/** Live values a replica holds, decoded as strings; [] when it holds nothing or only tombstones. */
export function decodeRegisterLocal(state: ReplicaState): string[] {
  if (state.kind !== 'kv') return [];
  return state.versions.filter((v) => !v.tombstone).map((v) => decodeText(v.value)).sort();
}
