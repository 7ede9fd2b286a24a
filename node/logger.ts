// Structured logging for the node process: one JSON object per line on stdout, so that the harness can
// collect node logs and grep them for events such as `peer-rejected` without parsing free text.
import type { LogLevel, Logger } from './core/env.js';

export interface JsonLoggerOptions {
  /** The node id stamped on every line. */
  readonly node: string;
  /** Where lines go; stdout by default. Tests pass a collector. */
  readonly write?: (line: string) => void;
  /** Lines below this level are dropped; `debug` is off unless asked for (QL_LOG_LEVEL). */
  readonly minLevel?: LogLevel;
}

const levelRank: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** A Logger that prints {ts, node, level, event, ...fields} as one line of JSON. */
export class JsonLogger implements Logger {
  private readonly node: string;
  private readonly write: (line: string) => void;
  private readonly minRank: number;

  constructor(options: JsonLoggerOptions) {
    this.node = options.node;
    this.write = options.write ?? ((line) => process.stdout.write(line + '\n'));
    this.minRank = levelRank[options.minLevel ?? 'info'];
  }

  log(level: LogLevel, event: string, fields: Record<string, unknown> = {}): void {
    if (levelRank[level] < this.minRank) return;
    // The fixed fields come last so a field named `event` or `node` cannot hide who logged what.
    const record = { ts: new Date().toISOString(), ...fields, node: this.node, level, event };
    let line: string;
    try {
      line = JSON.stringify(record, replacer);
    } catch {
      // A field that cannot be serialised (a cycle) must not take the node down; log the event alone.
      line = JSON.stringify({ ts: record.ts, node: this.node, level, event, note: 'fields not serialisable' });
    }
    this.write(line);
  }
}

/** BigInts, errors and byte arrays are not JSON by default; render them readably instead of throwing. */
function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return value;
}
