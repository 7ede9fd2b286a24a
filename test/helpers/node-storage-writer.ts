// A child process for the storage durability test: it writes keys one batch at a time through
// LevelStorage and prints "acked <i>" only after write() resolved, until it is killed with SIGKILL.
import { LevelStorage } from '../../node/storage-level.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: node-storage-writer <dir>');
const storage = new LevelStorage(dir);
await storage.open();
let i = 0;
// Several writers in parallel so group commit is exercised while the process dies.
const writer = async (lane: number): Promise<void> => {
  for (;;) {
    const n = i++;
    await storage.write([
      { type: 'put', ns: 'kv', key: `k${n}`, value: new TextEncoder().encode(`v${n}`) },
      { type: 'put', ns: 'meta', key: `m${n}`, value: new Uint8Array([lane]) },
    ]);
    process.stdout.write(`acked ${n}\n`);
  }
};
await Promise.all([0, 1, 2, 3].map(writer));
