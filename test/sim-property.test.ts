// Property-based fault campaigns (harness/sim-property.ts): fast-check draws a workload, a cluster shape
// and a scripted fault schedule; the property is "the run is valid". The reference node must satisfy it; a
// node with a deliberate defect must not, and then fast-check must shrink the case and print the exact
// `quorumlab run ... --schedule` line that replays it — which this test runs through the CLI to prove it.
import t from 'tap';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../harness/cli.js';
import {
  caseArbitrary, replayArgs, runCase, validRunProperty, verdictLine, type PropertyCase, type PropertyLog, type PropertySettings,
} from '../harness/sim-property.js';

let store = '';
t.before(() => {
  store = mkdtempSync(join(tmpdir(), 'ql-sim-property-'));
});
t.teardown(() => {
  if (store !== '') rmSync(store, { recursive: true, force: true });
});

// Short runs at a modest rate: enough acknowledged writes per key for the checkers to decide, cheap enough
// for ~20 cases plus shrinking in well under a minute.
const settings = (extra: Partial<PropertySettings> = {}): PropertySettings => ({ store, concurrency: 4, rate: 30, quiesceS: 2, ...extra });

// A fixed fast-check seed keeps CI deterministic; change it locally to explore other cases.
const FC_SEED = 42;

const summary = (log: PropertyLog): string => {
  const wallS = log.tried.reduce((s, x) => s + x.wallMs, 0) / 1000;
  const simS = log.tried.reduce((s, x) => s + x.simS, 0);
  const unknown = log.tried.filter((x) => x.valid === 'unknown').length;
  return `${log.tried.length} runs, ${unknown} undecided, ${simS.toFixed(0)} simulated s in ${wallS.toFixed(1)} wall s (${(simS / wallS).toFixed(1)}x)`;
};

t.test('the reference node: every drawn schedule and configuration gives a valid run', async (t) => {
  const log: PropertyLog = { tried: [] };
  await fc.assert(validRunProperty(settings(), caseArbitrary(), log), { numRuns: 20, seed: FC_SEED, includeErrorInReport: true });
  t.equal(log.firstFailure, undefined, 'no case failed');
  t.comment(summary(log));
});

t.test('ack-before-w (strict register, R=W=2 of N=3): the property fails, shrinks, and the printed line replays it', async (t) => {
  const bad = settings({ testFaults: ['ack-before-w'] });
  const log: PropertyLog = { tried: [] };
  const arb = caseArbitrary({ workloads: ['register'], nrw: { n: 3, r: 2, w: 2 }, sloppy: false, faults: ['partition', 'kill', 'pause'] });
  const details = await fc.check(validRunProperty(bad, arb, log), { numRuns: 25, seed: FC_SEED, includeErrorInReport: true });
  const message = fc.defaultReportMessage(details) ?? '';
  t.comment(summary(log));
  t.ok(details.failed, `fast-check found a counterexample within 25 cases\n${message}`);
  if (!details.failed || details.counterexample === null) return;

  const shrunk: PropertyCase = details.counterexample[0];
  const original = log.firstFailure;
  t.ok(original !== undefined, 'the first failing case was recorded');
  t.ok(shrunk.schedule.faults.length <= original!.schedule.faults.length,
    `the shrunk schedule (${shrunk.schedule.faults.length} faults) is no longer than the original (${original!.schedule.faults.length}); ${details.numShrinks} shrink steps`);
  t.comment(`original: ${JSON.stringify(original!.schedule)}\nshrunk:   ${JSON.stringify(shrunk.schedule)}`);

  // The report names the seed, the command and the schedule JSON, so a reader can replay without this test.
  t.match(message, `--seed ${shrunk.seed}`, 'the message names the seed');
  t.match(message, 'npx quorumlab run --runtime sim', 'the message has the replay command');
  t.match(message, '--fault ack-before-w', 'the replay command switches the same defect on');
  t.match(message, JSON.stringify(shrunk.schedule), 'the message has the schedule JSON');

  // Replay through the CLI exactly as printed (schedule written to a file): it must be invalid again (exit 1).
  const scheduleFile = join(store, 'counterexample-schedule.json');
  writeFileSync(scheduleFile, JSON.stringify(shrunk.schedule));
  const codes: number[] = [];
  const lines: string[] = [];
  const consoleLog = console.log;
  console.log = (...args: unknown[]) => void lines.push(args.map(String).join(' '));
  try {
    await main(replayArgs(shrunk, bad, scheduleFile), (code) => codes.push(code));
  } finally {
    console.log = consoleLog;
  }
  t.same(codes, [1], `the CLI replay exits 1 (invalid):\n${lines.slice(-3).join('\n')}`);
  const replayed = JSON.parse(readFileSync(join(store, 'latest', 'results.json'), 'utf8')) as { valid: unknown; config: { seed: number; nemesis: string[] } };
  t.equal(replayed.valid, false, 'results.json of the replay says invalid');
  t.equal(replayed.config.seed, shrunk.seed, 'with the same seed');

  // The same case in-process gives the same verdict, checker for checker (a sim run is a function of its options).
  const again = await runCase(shrunk, bad);
  const first = [...log.tried].reverse().find((x) => x.c === shrunk);
  t.equal(again.valid, false, `replaying in-process fails again: ${verdictLine(again)}`);
  t.ok(first !== undefined && first.valid === false, 'the shrunk case was one that failed');

  // The same case on the reference node passes: the defect, not the schedule, is what fails.
  const good = await runCase(shrunk, settings());
  t.not(good.valid, false, `the reference node passes the shrunk case: ${verdictLine(good)}`);
});
