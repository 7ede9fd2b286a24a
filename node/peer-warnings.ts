// Warnings about peers that fail authentication, rate-limited: an unauthenticated source can open
// connections as fast as it likes, and one log line per connection would let it flood the logs. The first
// event per source and kind in a window is logged; the rest are counted, and the next line logged for that
// source says how many were left out. The totals are in /admin/status (transport stats).
import type { LogLevel, Logger } from './core/env.js';

/** Sources remembered at once; beyond that every new source shares one entry (still rate-limited). */
const maxSources = 1024;

export class RateLimitedWarnings {
  private readonly last = new Map<string, { atMs: number; suppressed: number }>();
  /** Lines left out so far, over all sources. */
  suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly windowMs = 10_000,
    private readonly nowMs: () => number = () => performance.now(),
  ) {}

  /** Logs `event` unless one with the same `source` was logged within the window; true when it was. */
  log(level: LogLevel, event: string, source: string, fields: Record<string, unknown>): boolean {
    let key = `${event}|${source}`;
    if (!this.last.has(key) && this.last.size >= maxSources) key = `${event}|*`;
    const now = this.nowMs();
    const entry = this.last.get(key);
    if (entry !== undefined && now - entry.atMs < this.windowMs) {
      entry.suppressed++;
      this.suppressed++;
      return false;
    }
    const left = entry?.suppressed ?? 0;
    this.last.set(key, { atMs: now, suppressed: 0 });
    this.logger.log(level, event, left > 0 ? { ...fields, suppressedSinceLast: left } : fields);
    return true;
  }
}
