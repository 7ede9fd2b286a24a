// The command line that reruns a configuration (same seed), shown in reports and campaign tables.
import { worldArgs, type SimWorld } from '../sim-world.js';

/** Builds `npx quorumlab run …` from a config.json object; unknown or absent fields are left out. */
export function replayCommand(config: Readonly<Record<string, unknown>>): string {
  const parts = ['npx quorumlab run'];
  const add = (flag: string, v: unknown): void => {
    if (v === undefined || v === null) return;
    const text = String(v);
    parts.push(`--${flag} ${/^[A-Za-z0-9._,:/=@+-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`}`);
  };
  add('name', config['name']);
  add('runtime', config['runtime']);
  add('nodes', config['nodes']);
  add('n', config['n']);
  add('r', config['r']);
  add('w', config['w']);
  if (typeof config['sloppy'] === 'boolean') parts.push(config['sloppy'] ? '--sloppy' : '--strict');
  add('conflicts', config['conflicts']);
  add('workload', config['workload']);
  const nemesis = config['nemesis'];
  if (Array.isArray(nemesis)) add('nemesis', nemesis.length > 0 ? nemesis.join(',') : 'none');
  add('time-limit', config['timeLimitS']);
  add('concurrency', config['concurrency']);
  add('rate', config['rate']);
  add('quiesce', config['quiesceS']);
  if (typeof config['nemesisQuietS'] === 'number' && typeof config['nemesisFaultS'] === 'number') {
    add('nemesis-interval', `${config['nemesisQuietS']},${config['nemesisFaultS']}`);
  }
  add('keys', config['keyCount']);
  add('request-timeout', config['requestTimeoutMs']);
  const env = config['env'];
  if (env !== null && typeof env === 'object') {
    for (const [k, v] of Object.entries(env as Record<string, unknown>)) add('env', `${k}=${String(v)}`);
  }
  const mechanisms = config['mechanisms'] as Record<string, unknown> | undefined;
  if (mechanisms !== null && typeof mechanisms === 'object') {
    if (mechanisms['readRepair'] === false) parts.push('--no-read-repair');
    if (mechanisms['antiEntropy'] === false) parts.push('--no-anti-entropy');
    if (mechanisms['hintedHandoff'] === false) parts.push('--no-hinted-handoff');
  }
  const world = config['world'] as SimWorld | null | undefined;
  if (world !== null && typeof world === 'object') {
    const args = worldArgs(world);
    for (let i = 0; i < args.length; i += 2) add(args[i]!.slice(2), args[i + 1]);
  }
  add('seed', config['seed']);
  add('node-cmd', config['nodeCmd']);
  add('image', config['image']);
  return parts.join(' ');
}
