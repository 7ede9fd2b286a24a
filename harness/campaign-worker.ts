// A campaign worker process (started by campaign-pool.ts, from the compiled copy of the sources or through
// tsx): takes one planned run at a time over IPC, runs it, computes its row here (from the history it
// still holds) and sends the row back. It lives for the whole campaign, so its start and JIT warm-up are
// paid once, and exits when the pool disconnects, which it does once no run is left to give.
import { runAndRow } from './campaign-row.js';
import type { WorkerReply } from './campaign-pool.js';
import type { RunOptions } from './run.js';

if (process.send === undefined) {
  process.stderr.write('campaign-worker: start me through the campaign (no IPC channel)\n');
  process.exit(2);
}

process.on('message', (message: { index: number; run: RunOptions }) => {
  void (async () => {
    const { result, row } = await runAndRow(message.run);
    const reply: WorkerReply = { index: message.index, row, ...(result.error !== undefined ? { error: result.error } : {}) };
    process.send!(reply);
  })();
});
process.on('disconnect', () => process.exit(0));
