// True time for the process runtimes (local, Docker, SSH): nanoseconds since setup began on the monotonic clock,
// and sleeps on real timers. The simulation has its own virtual clock (sim/scheduler.ts).
export class WallClock {
  private startedNs = process.hrtime.bigint();

  /** Starts counting from now (setup calls it, so history times are relative to the run's start). */
  restart(): void {
    this.startedNs = process.hrtime.bigint();
  }

  nowNs(): number {
    return Number(process.hrtime.bigint() - this.startedNs);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}
