// bin/quorumlab.js restarts itself with the simulation V8 flags for exactly the commands that run simulations
// in this process (a run or campaign in sim), never for a real cluster's run, a check or a campaign elsewhere.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { runsSimulations, SIM_V8_FLAGS } from '../bin/sim-flags.js';

t.test('which commands are restarted with the simulation flags', async (t) => {
  t.ok(runsSimulations(['run', '--runtime', 'sim', '--seed', '7']));
  t.ok(runsSimulations(['campaign', '--seeds', '5', '--runtime=sim']));
  t.notOk(runsSimulations(['run', '--runtime', 'local']));
  t.notOk(runsSimulations(['run']), 'run defaults to the local runtime');
  t.notOk(runsSimulations(['check', '--runtime', 'sim']));
  t.notOk(runsSimulations(['run', '--node-cmd', '--runtime', 'local', 'sim']));
});

t.test("tap's node-arg carries the same flags (the property tests' processes run simulations too)", async (t) => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { tap: { 'node-arg': string[] } };
  for (const f of SIM_V8_FLAGS) t.ok(pkg.tap['node-arg'].includes(f), f);
});
