// Seeded synthetic histories of a CORRECT register and cart (a one-copy model with random concurrency and
// latencies), for property tests and the checker benchmark. Pure: no I/O, its own PRNG.
import type { HistoryOp } from './history.js';
import { mulberry32 } from './prng.js';

export interface SyntheticOptions {
  seed: number;
  /** Client ops to generate (the history has about twice as many events, plus final states). */
  ops: number;
  processes?: number;
  keys?: number;
  /** Items per cart key. */
  items?: number;
  /** Probability that a write ends in info (the process then retires). */
  infoRate?: number;
  nodes?: number;
}

/** mulberry32: small, fast, good enough for test data. */
export const prng = mulberry32;

interface Planned {
  process: number;
  f: string;
  key: string;
  invokeT: number;
  linT: number;
  completeT: number;
  type: 'ok' | 'info';
  /** Whether an info op took effect. */
  applied: boolean;
  value?: unknown;
  result?: unknown;
  extra: Record<string, unknown>;
  /** For puts and removes: the planned read they depend on. */
  dependsOn?: Planned;
  invokeIndex?: number;
  completeIndex?: number;
}

const MS = 1_000_000;

/**
 * Plans per-process sequential ops with random latencies, applies them in linearization order to a one-copy
 * model, and emits invoke/completion events in time order, then final reads and final replica states.
 */
export function syntheticHistory(kind: 'register' | 'cart', o: SyntheticOptions): HistoryOp[] {
  const rnd = prng(o.seed);
  const processes = o.processes ?? 5;
  const keys = o.keys ?? 3;
  const items = o.items ?? 6;
  const infoRate = o.infoRate ?? 0.02;
  const nodes = o.nodes ?? 3;
  const planned: Planned[] = [];
  const clock = new Array<number>(processes).fill(0);
  const pid = Array.from({ length: processes }, (_, i) => i);
  let nextPid = processes;
  let writeSeq = 0;
  const lastRead = new Map<number, Planned>();
  const plan = (slot: number, f: string, key: string, value: unknown, extra: Record<string, unknown> = {}, write = false): Planned => {
    const invokeT = clock[slot]! + Math.floor(rnd() * 3 * MS);
    const latency = Math.floor((0.2 + rnd() * rnd() * 20) * MS);
    const completeT = invokeT + latency + 1;
    const info = write && rnd() < infoRate;
    const p: Planned = {
      process: pid[slot]!, f, key, invokeT, linT: invokeT + Math.floor(rnd() * latency) + 1, completeT,
      type: info ? 'info' : 'ok', applied: !info || rnd() < 0.5, value, extra,
    };
    clock[slot] = completeT + 1;
    planned.push(p);
    if (info) pid[slot] = nextPid++;
    return p;
  };
  for (let i = 0; i < o.ops; i++) {
    const slot = Math.floor(rnd() * processes);
    const key = `${kind === 'cart' ? 'cart' : 'k'}${Math.floor(rnd() * keys)}`;
    const x = rnd();
    const prev = lastRead.get(slot);
    if (kind === 'register') {
      if (x < 0.5) lastRead.set(slot, plan(slot, 'get', key, undefined));
      else {
        const value = `p${pid[slot]}-${writeSeq++}`;
        // Mostly read-modify-write: write the key last read with its context; sometimes a blind write.
        const dep = prev !== undefined && rnd() < 0.9 ? prev : undefined;
        const p = plan(slot, 'put', dep?.key ?? key, value, {}, true);
        if (dep !== undefined) p.dependsOn = dep;
        lastRead.delete(slot);
      }
    } else {
      if (x < 0.4) lastRead.set(slot, plan(slot, 'read', key, undefined));
      else if (x < 0.75 || prev === undefined) plan(slot, 'add', key, `item-${Math.floor(rnd() * items)}`, {}, true);
      else {
        // Remove from the cart last read, with that read's context.
        const p = plan(slot, 'remove', prev.key, undefined, {}, true);
        p.dependsOn = prev;
        lastRead.delete(slot);
      }
    }
  }

  // Apply in linearization order to the one-copy model.
  const reg = new Map<string, string[]>();
  const cart = new Map<string, { id: number; item: string }[]>();
  const seenInstances = new Map<Planned, Set<number>>();
  let instanceSeq = 0;
  const byLin = [...planned].sort((a, b) => a.linT - b.linT);
  for (const p of byLin) {
    if (p.f === 'get') p.result = [...(reg.get(p.key) ?? [])];
    else if (p.f === 'put') {
      const rf = p.dependsOn?.result as string[] | undefined;
      if (rf !== undefined) p.extra = { context: `ctx:${rf.join(',')}`, readFrom: rf };
      if (p.applied) {
        const cur = reg.get(p.key) ?? [];
        const drop = new Set(rf ?? []);
        reg.set(p.key, [...cur.filter((v) => !drop.has(v)), p.value as string]);
      }
    } else if (p.f === 'read') {
      const cur = cart.get(p.key) ?? [];
      const items: Record<string, number> = {};
      for (const i of cur) items[i.item] = (items[i.item] ?? 0) + 1;
      p.result = items;
      seenInstances.set(p, new Set(cur.map((i) => i.id)));
    } else if (p.f === 'add') {
      if (p.applied) {
        let cur = cart.get(p.key);
        if (cur === undefined) cart.set(p.key, (cur = []));
        cur.push({ id: instanceSeq++, item: p.value as string });
      }
    } else if (p.f === 'remove') {
      const dep = p.dependsOn!;
      const present = Object.keys(dep.result as Record<string, number>);
      // Remove an item the read showed (or any item, removing nothing, when the read was empty).
      p.value = present.length > 0 ? present[Math.floor(rnd() * present.length)] : 'item-0';
      if (p.applied) {
        const seen = seenInstances.get(dep)!;
        cart.set(p.key, (cart.get(p.key) ?? []).filter((i) => !(i.item === p.value && seen.has(i.id))));
      }
    }
  }

  // Emit events in time order (ties: completions before invokes keep processes sequential).
  type Ev = { t: number; p: Planned; complete: boolean };
  const evs: Ev[] = [];
  for (const p of planned) evs.push({ t: p.invokeT, p, complete: false }, { t: p.completeT, p, complete: true });
  evs.sort((a, b) => a.t - b.t || Number(b.complete) - Number(a.complete));
  const out: HistoryOp[] = [];
  let last = 0;
  for (const e of evs) {
    const p = e.p;
    const base = { index: out.length, time: e.t, process: p.process, f: p.f, key: p.key } as HistoryOp;
    if (!e.complete) {
      p.invokeIndex = out.length;
      const op: HistoryOp = { ...base, type: 'invoke', ...(p.value !== undefined ? { value: p.value } : {}), ...p.extra };
      if (p.f === 'remove') op.readIndex = p.dependsOn!.completeIndex;
      out.push(op);
    } else {
      p.completeIndex = out.length;
      const value = p.f === 'get' || p.f === 'read' ? p.result : p.value;
      out.push({ ...base, type: p.type, ...(value !== undefined ? { value } : {}), ...(p.type === 'info' ? { error: 'timeout' } : {}) });
    }
    last = e.t;
  }
  // Final reads by fresh processes, then every replica's state.
  let t = last + 1000 * MS;
  const finalPid = nextPid;
  const allKeys = new Set(planned.map((p) => p.key));
  for (const key of [...allKeys].sort()) {
    const f = kind === 'register' ? 'get' : 'read';
    const value = kind === 'register' ? [...(reg.get(key) ?? [])] : itemsOf(cart.get(key) ?? []);
    out.push({ index: out.length, time: (t += MS), process: finalPid, type: 'invoke', f, key, final: true });
    out.push({ index: out.length, time: (t += MS), process: finalPid, type: 'ok', f, key, value: structuredClone(value), final: true });
    for (let n = 1; n <= nodes; n++) {
      out.push({ index: out.length, time: (t += MS), process: 'final', type: 'ok', f: 'local', key, node: `n${n}`, final: true, value: structuredClone(value) });
    }
  }
  return out;
}

function itemsOf(list: { item: string }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of list) out[i.item] = (out[i.item] ?? 0) + 1;
  return out;
}
