// Clock skew from outside the node with libfaketime: every node process is started with the library
// preloaded and pointed at an offset file it re-reads on every wall-clock call (FAKETIME_NO_CACHE), so
// writing "+3600" to the file moves the node's Date.now() an hour ahead at once. The monotonic clock is
// left alone (DONT_FAKE_MONOTONIC) so timeouts and failure detection keep true time.
import { existsSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import type { Capability } from './runtime.js';

export const libfaketimePath = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';

export function faketimeCapability(libPath: string = libfaketimePath): Capability {
  return existsSync(libPath) ? true : { unavailable: `libfaketime not found at ${libPath} (install the faketime package)` };
}

/** The offset as libfaketime's relative syntax: seconds with a sign, milliseconds as decimals ("+1.25"). */
export function formatOffset(offsetMs: number): string {
  if (!Number.isFinite(offsetMs)) throw new Error(`clock offset must be a finite number of ms, got ${offsetMs} (definite: nothing was changed)`);
  const sign = offsetMs < 0 ? '-' : '+';
  const abs = Math.abs(Math.round(offsetMs));
  const whole = Math.floor(abs / 1000);
  const frac = abs % 1000;
  return frac === 0 ? `${sign}${whole}` : `${sign}${whole}.${String(frac).padStart(3, '0')}`;
}

/** The environment that makes a process follow the offset file. */
export function faketimeEnv(offsetFile: string, libPath: string = libfaketimePath): Record<string, string> {
  return { LD_PRELOAD: libPath, FAKETIME_TIMESTAMP_FILE: offsetFile, FAKETIME_NO_CACHE: '1', DONT_FAKE_MONOTONIC: '1' };
}

/**
 * Writes the offset atomically (temp file + rename in the same directory) so libfaketime never reads a
 * half-written line. Docker bind-mounts the directory, not the file, for the rename to be visible.
 */
export async function writeOffset(offsetFile: string, offsetMs: number): Promise<void> {
  const tmp = `${offsetFile}.tmp`;
  await writeFile(tmp, formatOffset(offsetMs) + '\n');
  await rename(tmp, offsetFile);
}
