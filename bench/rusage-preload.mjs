// Preloaded (`node --import`) into a child process the checker bench measures: at exit it writes the process's
// own CPU time and peak RSS (all its threads) to the file QL_BENCH_RUSAGE names, so `quorumlab check` is
// measured as it runs, without a wrapper such as /usr/bin/time.
import { writeFileSync } from 'node:fs';

const out = process.env.QL_BENCH_RUSAGE;
if (out) {
  process.on('exit', () => {
    const u = process.resourceUsage();
    writeFileSync(out, JSON.stringify({ userS: u.userCPUTime / 1e6, systemS: u.systemCPUTime / 1e6, maxRssKiB: u.maxRSS }));
  });
}
