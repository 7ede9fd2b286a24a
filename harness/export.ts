// `quorumlab export`: reads a stored history (strictly: a malformed one is refused with the line that broke
// it), converts it, and streams EDN to stdout one op per line. A reader that stops early (`| head`)
// closes the pipe; that is its choice, not a failure, so the export then ends quietly with exit 0.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { readHistory } from './history-io.js';
import { opToEdn, toEdn } from './edn.js';
import { jepsenFormats, toJepsen, type JepsenFormat } from './jepsen-export.js';

export function parseFormat(v: string): JepsenFormat {
  if (!(jepsenFormats as readonly string[]).includes(v)) throw new InvalidArgumentError(`unknown format "${v}" (use ${jepsenFormats.join(', ')})`);
  return v as JepsenFormat;
}

export interface ExportOptions {
  readonly format: JepsenFormat;
  readonly key?: string;
}

/** The EDN lines of a history file or results folder, and notes for stderr. Throws one-line errors. */
export async function exportLines(target: string, options: ExportOptions): Promise<{ lines: string[]; notes: string[] }> {
  const isDir = await stat(target).then((s) => s.isDirectory(), (e: NodeJS.ErrnoException) => {
    throw new Error(`cannot read ${target}: ${e.code ?? e.message}`);
  });
  const path = isDir ? join(target, 'history.jsonl') : target;
  let history;
  try {
    history = readHistory(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(err.code !== undefined ? `cannot read ${path}: ${err.code}` : err.message);
  }
  if (options.format === 'generic') {
    if (options.key !== undefined) throw new InvalidArgumentError('--key needs --format set-full, knossos or elle-rw');
    return { lines: history.map(opToEdn), notes: [] };
  }
  const out = toJepsen(history, options.format, options.key);
  return { lines: out.ops.map(toEdn), notes: out.notes };
}

/**
 * Writes lines to a stream, waiting for it to drain when its buffer is full. Resolves 'closed' when the
 * reader went away (EPIPE and the like), 'done' once everything was handed over.
 */
export async function writeLines(out: NodeJS.WritableStream, lines: readonly string[]): Promise<'done' | 'closed'> {
  let closed = false;
  const onError = (): void => {
    closed = true;
  };
  out.on('error', onError);
  try {
    const chunk = 256;
    for (let i = 0; i < lines.length && !closed; i += chunk) {
      const text = lines.slice(i, i + chunk).map((l) => `${l}\n`).join('');
      const ok = out.write(text);
      if (!ok && !closed) {
        await new Promise<void>((resume) => {
          const go = (): void => {
            out.off('drain', go);
            out.off('error', go);
            out.off('close', go);
            resume();
          };
          out.on('drain', go);
          out.on('error', go);
          out.on('close', go);
        });
      }
    }
    if (!closed) {
      // The last write's callback runs once the text left the process (or failed because the pipe closed).
      await new Promise<void>((flushed) => out.write('', () => flushed()));
    }
    return closed ? 'closed' : 'done';
  } finally {
    // Keep swallowing late errors: an EPIPE may still arrive for bytes handed over before the close.
    out.off('error', onError);
    out.on('error', () => {});
  }
}
