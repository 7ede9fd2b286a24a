// CPU time of the server processes under test, read from /proc/<pid>/stat (user + system, all threads).
// Throughput on a shared machine depends on how much CPU the others leave; CPU seconds per operation
// depends far less on it, so the bench reports both. Linux only: elsewhere the figure is missing.
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's utime and stime; 100 on every Linux this runs on (USER_HZ). */
const ticksPerS = 100;

/** User + system CPU seconds the processes have used so far, or undefined if one cannot be read. */
export function cpuSecondsOf(pids: readonly number[]): number | undefined {
  let total = 0;
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return undefined;
    }
    // The command name (field 2) may contain spaces and parentheses; the fields after its last ')' do not.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
    total += (utime + stime) / ticksPerS;
  }
  return total;
}
