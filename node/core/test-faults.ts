// The deliberate defects of the harness's own tests (config.ts testFaultNames), asked in one place: each
// guarantee a fault breaks is one named question here, so the code that keeps the guarantee reads
// `faults.durable`, not a string lookup scattered through the node.
import type { TestFault } from './config.js';

export class FaultHooks {
  private readonly on: ReadonlySet<TestFault>;

  constructor(faults: readonly TestFault[] | undefined) {
    this.on = new Set(faults ?? []);
  }

  /** 'ack-before-w': a write is acknowledged after its first replica ack. */
  get ackBeforeW(): boolean {
    return this.on.has('ack-before-w');
  }

  /** 'read-fewer-than-r': a read answers from its first reply. */
  get readFewerThanR(): boolean {
    return this.on.has('read-fewer-than-r');
  }

  /** 'lww-in-vclock': conflicts resolve by wall clock although the mode promises siblings. */
  get lwwInVclock(): boolean {
    return this.on.has('lww-in-vclock');
  }

  /** 'drop-hints': hints are deleted instead of delivered. */
  get dropHints(): boolean {
    return this.on.has('drop-hints');
  }

  /** 'no-repair': read repair and anti-entropy do nothing. */
  get noRepair(): boolean {
    return this.on.has('no-repair');
  }

  /** 'remove-unobserved': a cart remove also removes adds it did not observe. */
  get removeUnobserved(): boolean {
    return this.on.has('remove-unobserved');
  }

  /** Whether replica writes are durable before they are acknowledged (false under 'ack-not-durable'). */
  get durable(): boolean {
    return !this.on.has('ack-not-durable');
  }

  /** 'context-overcovers': a write's context covers versions the client never read. */
  get contextOvercovers(): boolean {
    return this.on.has('context-overcovers');
  }

  /**
   * 'actor-reuse': a node that boots on an empty disk (or learns from gossip that it lost its state) keeps
   * minting under its plain node id, and takes each key's next counter from a table of its own life rather
   * than from the stored versions, so after a lost disk its counters start again at 1 and its new dots
   * collide with dots of its earlier life that other replicas hold (Riak's kv679).
   */
  get actorReuse(): boolean {
    return this.on.has('actor-reuse');
  }
}
