// What one SSH run keeps on one host, and the scripts that make and remove it: the run's directory
// `<dir>/run-<runId>@<host>/` (an owner file naming the controller machine and its pid, one directory per node with
// its data, log, pid, environment and clock-offset file) and the run's iptables chain, jumped to first thing
// in INPUT. Removal finds the run's processes by the marker in their environment (QL_HARNESS_RUN), so a node
// restarted after its pid file was written, or the esbuild helper a node starts, is never missed. The host's
// name is part of the directory's, so hosts that share the directory (an NFS home) each find their own.
import { chainName } from './iptables.js';
import { runMarkerEnv } from './cleanup.js';
import { shellQuote as q } from './ssh-client.js';

/** Every remote script starts with this: iptables lives in sbin, which a non-login PATH may lack. */
export const scriptPrelude = 'PATH="$PATH:/usr/sbin:/sbin"; export PATH';

/** How a host's run directories are told apart from other hosts' in a shared directory. */
export function hostKey(target: { readonly host: string; readonly port: number }): string {
  return `${target.host}-${target.port}`.replace(/[^A-Za-z0-9._-]/g, '_');
}

export function remoteRunDir(hostDir: string, runId: string, host: string): string {
  return `${hostDir}/run-${runId}@${host}`;
}

/** Makes the run's directory and owner file, and (with partitions) its chain. */
export function prepareRunScript(hostDir: string, runId: string, host: string, controller: string, withChain: boolean): string {
  const dir = remoteRunDir(hostDir, runId, host);
  const chain = chainName(runId);
  return [
    scriptPrelude,
    'set -e',
    `mkdir -p ${q(dir)}`,
    `printf 'controller=%s\\npid=%s\\nstarted=%s\\n' ${q(controller)} ${process.pid} "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > ${q(`${dir}/owner`)}`,
    ...(withChain ? [`iptables -w 5 -N ${chain}`, `iptables -w 5 -I INPUT 1 -j ${chain}`] : []),
  ].join('\n');
}

/**
 * Kills every process carrying the run's marker, deletes its chain and its directory; prints what it found
 * as `processes=N chain=0|1 dir=0|1`. Safe to run twice, and on a host the run never reached.
 */
export function removeRunScript(hostDir: string, runId: string, host: string): string {
  const dir = remoteRunDir(hostDir, runId, host);
  const chain = chainName(runId);
  return [
    scriptPrelude,
    `pids=$(grep -lzx -- ${q(`${runMarkerEnv}=${runId}`)} /proc/[0-9]*/environ 2>/dev/null | sed -n 's#^/proc/\\([0-9]*\\)/environ$#\\1#p')`,
    'n=0',
    'for p in $pids; do kill -KILL "$p" 2>/dev/null && n=$((n+1)); done',
    'c=0',
    `if command -v iptables >/dev/null 2>&1 && iptables -w 5 -S ${chain} >/dev/null 2>&1; then`,
    `  while iptables -w 5 -D INPUT -j ${chain} 2>/dev/null; do :; done`,
    `  iptables -w 5 -F ${chain} && iptables -w 5 -X ${chain} && c=1`,
    'fi',
    'd=0',
    `if [ -e ${q(dir)} ]; then rm -rf ${q(dir)} && d=1; fi`,
    'echo "processes=$n chain=$c dir=$d"',
  ].join('\n');
}

export interface RemovedRun {
  readonly processes: number;
  readonly chain: boolean;
  readonly dir: boolean;
}

export function parseRemoved(stdout: string): RemovedRun {
  const m = /processes=(\d+) chain=(\d) dir=(\d)/.exec(stdout);
  return m === null ? { processes: 0, chain: false, dir: false } : { processes: Number(m[1]), chain: m[2] === '1', dir: m[3] === '1' };
}

/** Lists the host's runs with a directory: `run <runId> controller=<name> pid=<pid>` lines. */
export function listRunsScript(hostDir: string, host: string): string {
  return [
    `for f in ${q(hostDir)}/run-*@${q(host)}/owner; do`,
    '  [ -f "$f" ] || continue',
    `  d=\${f%@${host}/owner}; id=\${d##*/run-}`,
    '  printf \'run %s %s\\n\' "$id" "$(tr \'\\n\' \' \' < "$f")"',
    'done',
  ].join('\n');
}

export interface RunOnHost {
  readonly runId: string;
  readonly controller: string;
  readonly pid: number | undefined;
}

export function parseRuns(stdout: string): RunOnHost[] {
  const out: RunOnHost[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^run (\S+) (.*)$/.exec(line.trim());
    if (m === null || !/^[A-Za-z0-9_-]+$/.test(m[1]!)) continue;
    const controller = /controller=(\S+)/.exec(m[2]!)?.[1] ?? '';
    const pid = /pid=(\d+)/.exec(m[2]!)?.[1];
    out.push({ runId: m[1]!, controller, pid: pid !== undefined ? Number(pid) : undefined });
  }
  return out;
}
