// A campaign worker process (started by campaign-pool.ts with the tsx loader): takes one planned run at a
// time over IPC, runs it, computes its row here (the history is read where it was written) and sends the
// row back. It exits when the pool disconnects, which it does once no run is left to give.
import { rowFor } from './campaign-row.js';
import type { WorkerReply } from './campaign-pool.js';
import { runTest, type RunOptions } from './run.js';

if (process.send === undefined) {
  process.stderr.write('campaign-worker: start me through the campaign (no IPC channel)\n');
  process.exit(2);
}

process.on('message', (message: { index: number; run: RunOptions }) => {
  void (async () => {
    const result = await runTest(message.run);
    const reply: WorkerReply = { index: message.index, row: await rowFor(message.run, result), ...(result.error !== undefined ? { error: result.error } : {}) };
    process.send!(reply);
  })();
});
process.on('disconnect', () => process.exit(0));
