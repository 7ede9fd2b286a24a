// Preloaded (`node --import`) into a child process the checker bench measures: at exit it writes the process's
// own CPU time and peak RSS (all its threads) to the file QL_BENCH_RUSAGE names, so `quorumlab check` is
// measured as it runs, without a wrapper such as /usr/bin/time. It adds the main thread's own CPU time (Linux,
// /proc/thread-self/stat), which leaves out V8's helper threads (parallel GC, compiler): the part of the work
// that one core must do in sequence.
import { readFileSync, writeFileSync } from 'node:fs';

const out = process.env.QL_BENCH_RUSAGE;
if (out) {
  process.on('exit', () => {
    const u = process.resourceUsage();
    writeFileSync(out, JSON.stringify({ userS: u.userCPUTime / 1e6, systemS: u.systemCPUTime / 1e6, maxRssKiB: u.maxRSS, mainThreadS: mainThreadSeconds() }));
  });
}

/** utime + stime of the calling thread, in seconds (clock ticks of 1/100 s), or null where /proc has no such file. */
function mainThreadSeconds() {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    // utime and stime are fields 14 and 15 of stat(5); after the ") " that ends the command name, field 3 comes first.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}
