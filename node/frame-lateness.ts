// How late the frames of one peer connection arrive, for dropping those that waited out a partition (see
// peer-transport.ts for why a late frame is worse than a lost one).

/**
 * How late frames on one connection arrive. The smallest (arrival - send) seen so far is the link's own
 * delay plus the offset between the two processes' monotonic clocks; a frame is late by how far it exceeds
 * that baseline. Clocks of two machines drift apart (crystals are good to some tens of ppm), and a sender
 * whose clock runs slow would make every frame look a little later each hour, so the baseline is allowed to
 * rise at `driftPerMs` (100 ppm): a day-old connection then tolerates 8.6 s of drift, while the baseline
 * moves only a millisecond across a ten-second partition.
 */
export class FrameLateness {
  private baselineMs = Infinity;
  private baselineAtMs = 0;

  constructor(private readonly driftPerMs = 1e-4) {}

  /** Records one frame (receiver's now, sender's send time) and returns how late it is, in ms. */
  lateByMs(nowMs: number, sentAtMs: number): number {
    const deltaMs = nowMs - sentAtMs;
    const allowed = this.baselineMs + (nowMs - this.baselineAtMs) * this.driftPerMs;
    if (deltaMs <= allowed) {
      this.baselineMs = deltaMs;
      this.baselineAtMs = nowMs;
      return 0;
    }
    return deltaMs - allowed;
  }
}
