// The quorumlab command line, every command: run, search, check, export, campaign, pbs, node, ls, serve, report. A bad
// flag prints one line and exits 2 (Jepsen's "could not run"); every command's exit code is 0 valid, 1 invalid,
// 2 unknown or failed. cli.ts loads this module for every command but `check`, which needs none of it.
import { Command, InvalidArgumentError, Option } from 'commander';
import type { NemesisKind } from './nemesis/nemesis.js';
import type { RuntimeKind } from './runtime/runtime.js';
import type { WorkloadName } from '../workloads/workload.js';
import type { RunOptions } from './run.js';
import {
  checkRuntimeFlags, checkShapeFlags, clusterEnvFrom, mechanismsFrom, faultShapesFrom, parseEnvItem, parseFaultList, parseHostBase, parseInterval, parseNemesis, parsePartitionKinds, parseScript, recipeNamed,
  parseTargets, testFaultNames, withRecipe, withSchedule,
} from './cli-args.js';
import { isTimedSchedule, scriptNemesis, type FaultSchedule, type Script } from './nemesis/schedule.js';
import { recipes } from './nemesis/recipes.js';
import { parseFormat } from './export.js';
import { targetSpecs } from './nemesis/targets.js';
import { partitionKinds } from './nemesis/grudge.js';
import { addStoreCommands } from './store-commands.js';
import { parseCoordination, parseNetList, parseRemoteNodes, probabilityArg, worldFlagError, worldFlagsFrom } from './sim-world.js';
import { addSshOptions, sshOptionsFrom } from './ssh-args.js';
import { addCheckCommand, newProgram, workloadArg } from './cli-base.js';

export { parseNemesis } from './cli-args.js';


function intArg(name: string): (v: string) => number {
  return (v) => {
    const x = Number(v);
    if (!Number.isInteger(x) || x < 0) throw new InvalidArgumentError(`${name} must be a whole number, got "${v}"`);
    return x;
  };
}

/** A whole number of at least 1 (a count of keys, a timeout in ms: 0 would make the run meaningless). */
function positiveIntArg(name: string): (v: string) => number {
  return (v) => {
    const x = Number(v);
    if (!Number.isInteger(x) || x < 1) throw new InvalidArgumentError(`${name} must be a whole number above 0, got "${v}"`);
    return x;
  };
}

function numberArg(name: string): (v: string) => number {
  return (v) => {
    const x = Number(v);
    if (!Number.isFinite(x) || x < 0) throw new InvalidArgumentError(`${name} must be a non-negative number, got "${v}"`);
    return x;
  };
}

/** Options shared by `run` and `campaign`; a campaign takes lists for the ones that are its axes. */
function addClusterOptions(cmd: Command, campaign = false): Command {
  return addSshOptions(cmd)
    .addOption(new Option('--runtime <kind>', 'where nodes run: sim (in-process, virtual time), local (child processes on loopback), docker, ssh (a host per node: --hosts or --inventory)').choices(['sim', 'local', 'docker', 'ssh']).default('local'))
    .addOption(campaign
      ? new Option('--nodes <list>', 'cluster sizes, comma-separated: one axis').default('5')
      : new Option('--nodes <count>', 'cluster size').argParser(intArg('--nodes')).default(5))
    .option('--concurrency <count>', 'client processes (each has one op in flight)', intArg('--concurrency'), 10)
    .option('--rate <ops>', 'target operations per second, all processes together', numberArg('--rate'), 50)
    .option('--quiesce <seconds>', 'wait after heal before the final reads', numberArg('--quiesce'), 5)
    .option('--nemesis-interval <quiet,fault>', 'seconds without faults, then seconds with one in force', (v: string) => { parseInterval(v); return v; }, '5,5')
    .option('--node-cmd <command>', 'local runtime: the command that starts a node (test another NODE-API.md implementation)')
    .option('--image <image>', 'docker runtime: a node image to test instead of the reference node')
    .option('--host-base <n>', 'local runtime: node i listens on 127.0.0.(n+i) (default 10); runs at once on one machine each need their own range of 10', parseHostBase)
    .option('--store <dir>', 'results store', 'store')
    .option('--keys <count>', 'number of keys the workload spreads over', positiveIntArg('--keys'))
    .option('--partitions <kinds>', `partition kinds the nemesis draws from: ${partitionKinds.join(',')} (default: all)`, parsePartitionKinds)
    .option('--targets <specs>', `crash and pause targets the nemesis draws from: ${targetSpecs.join(',')} (default: all)`, parseTargets)
    .addOption(campaign
      ? new Option('--request-timeout <list>', 'client timeouts per request in ms, comma-separated: one axis').default('1000')
      : new Option('--request-timeout <ms>', 'client timeout per request').argParser(positiveIntArg('--request-timeout')).default(1000))
    .option('--net <model>', 'sim: network latency model: constant:<ms>, uniform:<min>-<max>, exponential:<mean ms>, lnkd-ssd, lnkd-disk, ymmr (the PBS paper\'s fits), wan (lnkd-disk + 75 ms between datacenters); campaign: a comma-separated list, one axis', parseNetList)
    .option('--remote-nodes <ids>', 'sim, --net wan: the nodes in the remote datacenter, e.g. n4,n5 (default: every node a datacenter of its own)', parseRemoteNodes)
    .option('--drop <p>', 'sim: probability that a peer message is lost', probabilityArg('--drop'))
    .option('--duplicate <p>', 'sim: probability that a peer message is delivered twice', probabilityArg('--duplicate'))
    .option('--fsync-ms <ms>', 'sim: fsync latency of a storage batch (default 1; 0 for the pbs workload)', numberArg('--fsync-ms'))
    .option('--client-delay-ms <ms>', 'sim: mean one-way client-node delay (default 0.5; 0 for the pbs workload, so lags are measured at the coordinator)', numberArg('--client-delay-ms'))
    .option('--coordination <mode>', 'sim: wars (every replica, the coordinator\'s own copy included, reached through the network: the PBS paper\'s model; default for pbs) or dynamo (the coordinator uses its own copy at once)', parseCoordination)
    .option('--no-read-repair', 'switch read repair off (QL_READ_REPAIR=0): a read answers from the first R replies and repairs nobody')
    .option('--no-anti-entropy', 'switch Merkle anti-entropy off (QL_ANTI_ENTROPY=0)')
    .option('--no-hinted-handoff', 'store hints but never deliver them (QL_HINTED_HANDOFF=0; an ablation, not a mode to run)')
    .option('--env <VAR=value...>', 'extra QL_* variables for every node (e.g. QL_TEST_FAULTS=ack-before-w)', parseEnvItem)
    .option('--fault <names>', `TEST ONLY (checks the harness itself, never a normal configuration): switch on deliberate defects of the reference node, comma-separated, as QL_TEST_FAULTS: ${testFaultNames.join(', ')}; a correct harness must then report invalid (see docs/bug-classes.md)`, parseFaultList);
}

/** The run's configuration flags, shared by `run` and `search` (a search runs the configuration `run` would). */
function addConfigOptions(cmd: Command): Command {
  return cmd
    .option('--name <name>', 'test name (results go to <store>/<name>/<timestamp>/)')
    .option('--n <count>', 'replication factor N', intArg('--n'), 3)
    .option('--r <count>', 'read quorum R', intArg('--r'), 2)
    .option('--w <count>', 'write quorum W', intArg('--w'), 2)
    .option('--sloppy', 'sloppy quorum with hinted handoff', true)
    .option('--strict', 'strict quorum on the first N home replicas')
    .addOption(new Option('--conflicts <mode>', 'vclock: siblings reconciled by clients/CRDTs; lww: last write wins by wall clock').choices(['vclock', 'lww']).default('vclock'))
    .option('--workload <name>', 'register | cart | cart-kv | pbs', workloadArg, 'cart' as WorkloadName)
    .addOption(new Option('--nemesis <kinds>', 'comma-separated faults: partition,clock,crash,pause,membership,disk-loss, or none')
      .argParser(parseNemesis).default(['partition', 'crash', 'pause'] as NemesisKind[], 'partition,crash,pause'));
}

/** Turns parsed `run` flags into RunOptions (exported for tests). */
export function runOptionsFrom(o: Record<string, unknown>, argv: readonly string[] = []): RunOptions {
  checkRuntimeFlags(o);
  if (typeof o['schedule'] !== 'string') checkShapeFlags(o, [(o['nemesis'] as NemesisKind[] | undefined) ?? []]);
  const interval = parseInterval(String(o['nemesisInterval'] ?? '5,5'));
  const env = clusterEnvFrom(o);
  const shapes = faultShapesFrom(o);
  const world = worldFlagsFrom(o);
  const worldError = worldFlagError(world, o['runtime'] as RuntimeKind, o['nodes'] as number);
  if (worldError !== undefined) throw new InvalidArgumentError(worldError);
  const ssh = sshOptionsFrom(o);
  return {
    ...(typeof o['name'] === 'string' ? { name: o['name'] } : {}),
    runtime: o['runtime'] as RuntimeKind,
    nodes: o['nodes'] as number,
    n: o['n'] as number,
    r: o['r'] as number,
    w: o['w'] as number,
    sloppy: o['sloppy'] !== false,
    conflicts: o['conflicts'] as 'vclock' | 'lww',
    workload: o['workload'] as WorkloadName,
    nemesis: o['nemesis'] as NemesisKind[],
    timeLimitS: o['timeLimit'] as number,
    concurrency: o['concurrency'] as number,
    rate: o['rate'] as number,
    seed: (o['seed'] as number | undefined) ?? freshSeed(),
    quiesceS: o['quiesce'] as number,
    nemesisQuietS: interval.quietS,
    nemesisFaultS: interval.faultS,
    store: o['store'] as string,
    requestTimeoutMs: o['requestTimeout'] as number,
    ...(typeof o['keys'] === 'number' ? { keyCount: o['keys'] } : {}),
    ...(shapes !== undefined ? { faultShapes: shapes } : {}),
    ...(typeof o['nodeCmd'] === 'string' ? { nodeCmd: o['nodeCmd'] } : {}),
    ...(typeof o['image'] === 'string' ? { image: o['image'] } : {}),
    ...(typeof o['hostBase'] === 'number' ? { hostBase: o['hostBase'] } : {}),
    ...(env !== undefined ? { env } : {}),
    mechanisms: mechanismsFrom(o),
    world,
    ...(ssh !== undefined ? { ssh } : {}),
    ...(argv.length > 0 ? { command: `npx quorumlab ${argv.join(' ')}` } : {}),
  };
}

/** A seed when none is given: printed first, so any run can be replayed. */
function freshSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}

export function buildProgram(exit: (code: number) => void): Command {
  const program = newProgram();

  addConfigOptions(addClusterOptions(program.command('run')
    .description('one test: start a cluster, drive a workload under faults, heal, check the history, write a report')
    .option('--time-limit <seconds>', 'how long the workload runs', numberArg('--time-limit'), 60)
    .option('--seed <integer>', 'seed for every random choice (random when absent; printed first)', intArg('--seed'))
    .option('--schedule <recipe|file.json>', 'play a scripted fault schedule instead of random faults: a named recipe ' +
      `(${Object.keys(recipes).join(', ')}: its cluster, load and length too, where no flag says otherwise), ` +
      'a periodic file {"quietS","faultS","faults":[{"f","value"},...]} (fault k starts at quietS + k*(quietS+faultS) s and is undone ' +
      'faultS later; sets --nemesis and --nemesis-interval, caps --time-limit at its span: how a search counterexample replays), ' +
      'or a timed file {"timed":[{"atS","f","value"},...]} (each op at its time, undone only by a later op or the final heal)')
    .addHelpText('after', `
Examples:
  quorumlab run                                  cart on 5 local nodes; partitions, crashes, pauses; 60 s
  quorumlab run --runtime sim --seed 7           the same in simulation (fast; a seed replays exactly)
  quorumlab run --workload pbs --r 1 --w 1 --nemesis none    t-visibility for N=3 R=1 W=1
  quorumlab run --strict --conflicts lww --workload register --nemesis clock
  quorumlab run --runtime sim --seed 7 --schedule faults.json   replay a scripted fault schedule
  quorumlab run --runtime sim --schedule kv679-disk-loss        Riak's kv679 (a disk lost, the same actor id)

Exit codes: 0 valid, 1 invalid, 2 unknown or the run could not complete.
Results: <store>/<name>/<timestamp>/ (config.json, history.jsonl, results.json, report.html,
node logs), and <store>/latest points at the newest.`)))
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      if (o['strict'] === true) o['sloppy'] = false;
      // pbs measures the paper's 3-server cluster: every node a replica of every key (N nodes), so no put is
      // forwarded from a non-replica (a hop WARS does not model). --nodes still overrides.
      if (o['workload'] === 'pbs' && cmd.getOptionValueSource('nodes') !== 'cli') o['nodes'] = o['n'];
      const { runTest } = await import('./run.js');
      const options = runOptionsFrom(o, process.argv.slice(2));
      if (typeof o['schedule'] === 'string') {
        const recipe = recipeNamed(o['schedule']);
        const script: Script = recipe !== undefined ? { timed: recipe.schedule } : await readSchedule(o['schedule']);
        const base = recipe !== undefined ? withRecipe(options, recipe, (flag) => cmd.getOptionValueSource(flag) === 'cli') : options;
        exit((await runTest(withSchedule(base, script), { nemesis: scriptNemesis(script) })).exitCode);
        return;
      }
      const result = await runTest(options);
      exit(result.exitCode);
    });

  addConfigOptions(addClusterOptions(program.command('search')
    .description('search fault schedules for one that breaks a configuration (fast-check), shrink it to a minimal one, print its replay line')
    .option('--runs <count>', 'most schedules to try before shrinking', positiveIntArg('--runs'), 20)
    .option('--time-budget <seconds>', 'wall seconds for the whole search, shrinking included (a run in progress always finishes)', numberArg('--time-budget'), 300)
    .option('--max-faults <count>', 'most faults per schedule', positiveIntArg('--max-faults'), 4)
    .option('--seed <integer>', "the search's own seed: the same seed draws the same schedules (random when absent; printed first)", intArg('--seed'))
    .option('--schedule <file.json>', 'try this periodic schedule {"quietS","faultS","faults"} first (it counts as one of --runs), then draw; ' +
      'a timed schedule or a recipe cannot be searched around: replay it with run --schedule')
    .option('--schedule-seed <integer>', "the world seed of the --schedule case (default 1)", intArg('--schedule-seed'))
    .addHelpText('after', `
--nemesis picks what schedules are drawn from (partition, crash, pause, clock); the runtime is sim unless
--runtime says otherwise (local with --node-cmd, or docker with --image, searches your own node).

Examples:
  quorumlab search --workload register --strict --runs 50            a minute or two in simulation
  quorumlab search --workload register --strict --fault ack-before-w --seed 1   finds, shrinks, prints the replay
  quorumlab search --runtime local --node-cmd ./my-node --runs 5 --time-budget 600

Exit codes: 0 no schedule broke it, 1 one did (its schedule and replay line are printed), 2 bad input or
the search could not run.`)))
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      if (o['strict'] === true) o['sloppy'] = false;
      // Searching wants many fast runs that replay exactly: the simulation, unless asked otherwise.
      if (cmd.getOptionValueSource('runtime') === 'default') o['runtime'] = 'sim';
      const { searchFaultsFor, searchSchedules } = await import('./search.js');
      const { seed: _runSeed, nemesis, timeLimitS: _t, command: _c, ...world } = runOptionsFrom({ ...o, seed: 0 });
      let faults;
      try {
        faults = searchFaultsFor(nemesis);
      } catch (e) {
        throw new InvalidArgumentError(`--nemesis: ${(e as Error).message}`);
      }
      let first: { schedule: FaultSchedule; seed?: number } | undefined;
      if (typeof o['schedule'] === 'string') {
        const given = o['schedule'];
        const script = recipeNamed(given) !== undefined ? undefined : await readSchedule(given);
        if (script === undefined || isTimedSchedule(script)) {
          throw new InvalidArgumentError(`--schedule: search tries periodic schedules {quietS, faultS, faults}; ${given} is ${script === undefined ? 'a recipe' : 'a timed schedule'} (replay it with: quorumlab run --schedule ${given})`);
        }
        first = { schedule: script, ...(typeof o['scheduleSeed'] === 'number' ? { seed: o['scheduleSeed'] } : {}) };
      }
      let result;
      try {
        result = await searchSchedules({
          ...world, runs: o['runs'] as number, timeBudgetS: o['timeBudget'] as number, maxFaults: o['maxFaults'] as number, faults,
          ...(first !== undefined ? { first } : {}),
          ...(typeof o['seed'] === 'number' ? { seed: o['seed'] } : {}),
          log: (line) => console.log(line),
        });
      } catch (e) {
        // A configuration the run itself would refuse (e.g. --r above --n): one line, exit 2.
        throw new InvalidArgumentError((e as Error).message);
      }
      console.log(result.report);
      exit(result.exitCode);
    });

  addCheckCommand(program, exit);

  program.command('export')
    .description("convert a history to Jepsen's EDN, in the shape one of Jepsen's checkers takes")
    .requiredOption('--edn <history>', 'the history.jsonl (or a results folder) to write as EDN on stdout')
    .addOption(new Option('--format <name>', 'generic: every field as it is; set-full: cart adds and reads as sets (jepsen.checker/set-full); ' +
      'knossos: register :read/:write of [k v] tuples (jepsen.independent + a register model); elle-rw: register ops as Elle rw-register :txn')
      .argParser(parseFormat).default('generic'))
    .option('--key <key>', 'only this key, with bare values instead of [k v] tuples (set-full, knossos, elle-rw)')
    .addHelpText('after', `
Examples:
  quorumlab export --edn store/latest --format set-full > history.edn    a cart run for (independent/checker (checker/set-full))
  quorumlab export --edn store/latest --format knossos --key reg-3       one register for a Knossos linearizability check
  quorumlab export --edn store/latest --format elle-rw                   a register run for elle.rw-register/check`)
    .action(async (o: { edn: string; format: 'generic' | 'set-full' | 'knossos' | 'elle-rw'; key?: string }) => {
      const { exportLines, writeLines } = await import('./export.js');
      const { lines, notes } = await exportLines(o.edn, { format: o.format, ...(o.key !== undefined ? { key: o.key } : {}) });
      for (const note of notes) process.stderr.write(`note: ${note}\n`);
      // Exit only once the text has drained (exiting with a pipe still full would truncate it); a reader
      // that closed the pipe early (\`| head\`) wanted no more, which is no error.
      await writeLines(process.stdout, lines);
      exit(0);
    });

  addClusterOptions(program.command('campaign')
    .option('--mechanisms <sets>', 'an axis of mechanism ablations, comma-separated sets, each all or a "+"-joined subset of no-read-repair, no-anti-entropy, no-hinted-handoff (e.g. all,no-read-repair,no-read-repair+no-anti-entropy); the --no-* flags apply to every set')
    .description('many runs across (N,R,W) × sloppy/strict × vclock/lww × faults × seeds, then a comparison table and campaign.html')
    .option('--quick', 'a bounded sweep (≤ 5 min): strict and sloppy × partition, clock, crash, pause × register and cart')
    .addOption(new Option('--preset <name>', 'detection: each bug class of docs/bug-classes.md (its test-only fixture, in its documented configuration) and the reference node in the same configurations, over --seeds (default 10) runs of --time-limit (default 30) s; prints and writes the detection table').choices(['detection']))
    .option('--nrw <list>', 'N/R/W triples, e.g. 3/2/2,3/1/1', '3/2/2,3/1/1')
    .option('--modes <list>', 'sloppy,strict', 'sloppy,strict')
    .option('--conflicts <list>', 'vclock,lww', 'vclock')
    .option('--workloads <list>', 'workloads to run', 'register,cart')
    .option('--nemeses <list>', 'one fault set per run, ";"-separated (e.g. "partition;crash,pause")', 'partition;clock;crash;pause')
    .option('--seeds <count>', 'seeds per configuration', positiveIntArg('--seeds'), 1)
    .option('--seed <integer>', 'first seed', intArg('--seed'), 1)
    .option('--time-limit <seconds>', 'workload seconds per run', numberArg('--time-limit'), 20)
    .option('--name <name>', 'campaign name', 'campaign')
    .option('--jobs <count>', 'runs at once: this process and N-1 worker processes (default: one per core with --runtime sim, else 1)', positiveIntArg('--jobs'))
    .option('--shard <i/n>', 'run only the i-th of n deterministic shares of the matrix (i from 1); combine with `campaign merge`', (v: string) => v)
    .addOption(new Option('--reports <which>', "which runs write report.html as they finish: failed (not valid; the others render theirs on demand: `quorumlab report`, `quorumlab serve`) or all").choices(['failed', 'all']))
    .addHelpText('after', `
Examples:
  quorumlab campaign --quick                             ≤ 5 min sweep on local processes
  quorumlab campaign --runtime sim --seeds 20            every configuration × 20 seeds, one worker per core
  quorumlab campaign --runtime sim --seeds 20 --shard 2/3 --store /results/2    a third of it (one job of three)
  quorumlab campaign merge /results/1 /results/2 /results/3                     the three shards as one campaign
  quorumlab campaign --runtime sim --workloads pbs --nrw 3/1/1 --modes sloppy --nemeses none --net lnkd-ssd,lnkd-disk --mechanisms all,no-read-repair --request-timeout 200,1000
                                                         ablations × timeouts × networks, one table`), true)
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      if (o['preset'] === 'detection') {
        checkRuntimeFlags(o);
        const { detectionOptionsFrom, runDetection } = await import('./detection.js');
        const result = await runDetection(detectionOptionsFrom(o, (name) => cmd.getOptionValueSource(name) === 'cli'));
        exit(result.exitCode);
        return;
      }
      if (o['quick'] === true) {
        // --quick fixes the sweep; a sweep flag given beside it would be silently ignored.
        const ignored = ['nrw', 'modes', 'conflicts', 'workloads', 'nemeses', 'seeds', 'timeLimit', 'quiesce', 'nemesisInterval']
          .filter((name) => cmd.getOptionValueSource(name) === 'cli');
        if (ignored.length > 0) {
          throw new InvalidArgumentError(`--quick fixes the sweep; drop ${ignored.map((n) => `--${n.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')} or drop --quick`);
        }
      }
      if (cmd.args.length > 0) throw new InvalidArgumentError(`campaign takes no arguments, got "${cmd.args[0]}" (did you mean campaign merge?)`);
      const { runCampaign, campaignOptionsFrom } = await import('./campaign.js');
      const result = await runCampaign(campaignOptionsFrom(o));
      exit(result.exitCode);
    })
    .command('merge')
    .description('combine the shards of one campaign (campaign --shard i/n) into one table and campaign.html')
    .argument('<dirs...>', "each shard's campaign folder, or the store folder it wrote to")
    .addHelpText('after', '\nThe merged campaign goes to a new folder of the results store (campaign --store, default store).')
    .action(async (dirs: string[], _o: unknown, cmd: Command) => {
      // --store is the campaign command's own flag (commander reads a parent's options anywhere on the line).
      const { store } = cmd.optsWithGlobals<{ store: string }>();
      const { mergeCampaign } = await import('./campaign-merge.js');
      const result = await mergeCampaign(dirs, { store });
      exit(result.exitCode);
    });

  program.command('pbs')
    .description("reproduce PBS (Bailis et al., VLDB 2012) on the simulated cluster: the paper's figures, quorumlab's WARS prediction and the measured t-visibility side by side (pbs.html)")
    .option('--nets <list>', 'latency models (see run --net)', 'lnkd-ssd,lnkd-disk,ymmr')
    .option('--rows <list>', 'R/W rows of Table 4, e.g. 1/1,1/2,2/1', '1/1,1/2,2/1')
    .option('--time-limit <seconds>', 'simulated seconds per run', numberArg('--time-limit'), 120)
    .option('--trials <count>', 'Monte Carlo trials per prediction', positiveIntArg('--trials'), 400_000)
    .option('--writes <count>', 'writes each run measures (its concurrency is chosen to fit them in the time limit; the 99.9 % point is set by rare slow writes)', positiveIntArg('--writes'), 60_000)
    .option('--seed <integer>', 'seed of every run and prediction', intArg('--seed'), 1)
    .option('--no-extras', "skip the R=W=1 runs with read repair on and with Dynamo's coordination")
    .option('--store <dir>', 'results store', 'store')
    .action(async (o: Record<string, unknown>) => {
      const nets = parseNetList(String(o['nets'])).split(',');
      const rows = String(o['rows']).split(',').map((item) => {
        const m = /^([1-3])\/([1-3])$/.exec(item.trim());
        if (m === null) throw new InvalidArgumentError(`--rows expects R/W pairs from 1 to 3 (N=3), got "${item}"`);
        return { r: Number(m[1]), w: Number(m[2]) };
      });
      const { runPbsComparison } = await import('./pbs/compare.js');
      const result = await runPbsComparison({
        nets, rows, timeLimitS: o['timeLimit'] as number, trials: o['trials'] as number, writes: o['writes'] as number, seed: o['seed'] as number,
        extras: o['extras'] !== false, store: String(o['store']),
      });
      exit(result.exitCode);
    });

  program.command('node')
    .description('run one reference node, configured by the QL_* variables of NODE-API.md')
    .action(async () => {
      const specifier = '../node/main.js';
      const { runNode } = (await import(specifier)) as { runNode: () => Promise<void> };
      await runNode();
    });
  addStoreCommands(program, exit);
  return program;
}

/** Reads and checks a `--schedule` file (periodic or timed); every way it can be wrong is one line. */
async function readSchedule(path: string): Promise<Script> {
  const { readFile } = await import('node:fs/promises');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const known = Object.keys(recipes).join(', ');
    throw new InvalidArgumentError(`--schedule: ${path} is neither a recipe (${known}) nor a readable file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new InvalidArgumentError(`--schedule: ${path} is not JSON (${(e as Error).message.split('\n')[0]})`);
  }
  return parseScript(json);
}
