// composeNemesis routes each op by name to the piece that owns it, draws only among the configured kinds
// that can start, and lists undo steps in the pieces' order; scripted schedules and recipes use the same
// op names.
import t from 'tap';
import { composeNemesis } from '../harness/nemesis/compose.js';
import type { FaultDefinition } from '../harness/nemesis/fault.js';
import { kindOfOp } from '../harness/nemesis/standard-faults.js';
import { recipes } from '../harness/nemesis/recipes.js';
import { parseSchedule, scheduleFaultNames, scheduleKinds } from '../harness/nemesis/schedule.js';
import type { Runtime, RuntimeCapabilities } from '../harness/runtime/runtime.js';

const caps: RuntimeCapabilities = { partition: true, clock: true, crash: true, pause: { unavailable: 'no signals here' }, membership: true, 'disk-loss': true };
const runtime = { kind: 'sim', capabilities: () => caps, nodeIds: () => ['n1', 'n2', 'n3'] } as unknown as Runtime;

/** A piece that records what it was asked to do and holds one fault until undone. */
function recorder(kind: 'partition' | 'pause', start: string, stop: string, log: string[]): FaultDefinition {
  return {
    kind,
    owns: (f) => f === start || f === stop,
    create: () => {
      let held = false;
      return {
        startable: () => !held,
        draw: () => ({ f: start, value: {} }),
        apply: async (step) => {
          log.push(`${kind}:${step.f}`);
          held = step.f === start;
          return { f: step.f, value: {} };
        },
        undo: () => (held ? [{ f: stop, value: {} }] : []),
      };
    },
  };
}

t.test('ops are routed by name; undo follows the pieces order; unavailable kinds are refused', async (t) => {
  const log: string[] = [];
  const nem = composeNemesis([recorder('pause', 'freeze', 'thaw', log), recorder('partition', 'cut', 'mend', log)], {
    runtime, kinds: ['partition', 'pause'], random: () => 0.5,
  });
  t.same(nem.kinds, ['partition']);
  t.same(nem.unavailable, { pause: 'no signals here' });
  t.same(nem.next(), { f: 'cut', value: {} });
  await nem.start({ f: 'cut', value: {} });
  t.same(nem.next(), { f: 'mend', value: {} }, 'nothing startable: the next step is the first undo');
  await t.rejects(nem.start({ f: 'freeze', value: {} }), /freeze is unavailable on the sim runtime: no signals here/);
  await t.rejects(nem.start({ f: 'shake', value: {} }), /unknown nemesis op "shake"/);
  t.same(nem.undo(), [{ f: 'mend', value: {} }]);
  await nem.stop({ f: 'mend', value: {} });
  t.same(log, ['partition:cut', 'partition:mend']);
  t.same(nem.undo(), []);
});

t.test('every op a schedule may start belongs to a standard fault kind; recipes use only ops of fault kinds', async (t) => {
  for (const f of scheduleFaultNames) t.ok(kindOfOp(f), `${f} has a kind`);
  for (const recipe of Object.values(recipes)) {
    for (const { atS, step } of recipe.schedule) {
      t.ok(kindOfOp(step.f), `${recipe.name}: ${step.f} at ${atS} s is an op of a fault kind (a timed step may undo)`);
      t.ok(atS >= 0 && atS <= recipe.timeLimitS, `${recipe.name}: ${step.f} at ${atS} s is inside the run`);
    }
  }
  const s = parseSchedule({ quietS: 1, faultS: 2, faults: [{ f: 'kill', value: { nodes: ['n1'] } }, { f: 'clock-skew' }] });
  t.same(scheduleKinds(s), ['crash', 'clock']);
  t.same(s.faults[1], { f: 'clock-skew', value: {} });
  t.throws(() => parseSchedule({ quietS: 1, faultS: 1, faults: [{ f: 'heal' }] }), /faults\[0\]\.f must be one of partition, kill/);
});
