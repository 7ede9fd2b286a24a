// Partitions as iptables DROP rules. The rule text is computed purely from a Grudge (testable without
// root); applying it goes through an injected command runner so the local runtime (host iptables, one
// dedicated chain per run) and the Docker runtime (iptables inside each container's network namespace via
// nsenter) share the same rules.
import type { Capability, Grudge } from './runtime.js';

/** Runs a program with arguments and resolves with its stdout; rejects when it exits non-zero. */
export type CommandRunner = (file: string, args: readonly string[]) => Promise<{ stdout: string }>;

export const chainPrefix = 'QUORUMLAB-';
/** iptables limits chain names to 28 characters. */
const maxChainLength = 28;

export function chainName(runId: string): string {
  const name = `${chainPrefix}${runId}`;
  if (name.length > maxChainLength || !/^[A-Za-z0-9_-]+$/.test(runId)) {
    throw new Error(`run id "${runId}" makes an invalid iptables chain name "${name}" (definite: nothing was changed)`);
  }
  return name;
}

/**
 * Host (loopback) rules: grudge[a] lists nodes whose packets a drops, so for each b in it we drop packets
 * from b's address to a's address. Both ends are 127.x addresses the nodes bind and dial from.
 */
export function hostGrudgeRules(chain: string, grudge: Grudge, addressOf: (nodeId: string) => string | undefined, peerPort?: number): string[][] {
  const rules: string[][] = [];
  for (const [a, dropped] of Object.entries(grudge)) {
    const dst = addressOf(a);
    if (dst === undefined) continue;
    for (const b of dropped) {
      const src = addressOf(b);
      if (src === undefined || src === dst) continue;
      if (peerPort === undefined) {
        rules.push(['-A', chain, '-s', src, '-d', dst, '-j', 'DROP']);
      } else {
        // With the run's peer port, only this run's inter-node traffic is cut: b dialling a's peer port,
        // and b answering on its own peer port a connection a opened. Another run (or a client) that
        // shares the loopback addresses on other ports is untouched.
        rules.push(['-A', chain, '-s', src, '-d', dst, '-p', 'tcp', '--dport', String(peerPort), '-j', 'DROP']);
        rules.push(['-A', chain, '-s', src, '-d', dst, '-p', 'tcp', '--sport', String(peerPort), '-j', 'DROP']);
      }
    }
  }
  return rules;
}

/** Container rules: inside a's own network namespace only the source matters. */
export function namespaceGrudgeRules(dropped: readonly string[], addressOf: (nodeId: string) => string | undefined): string[][] {
  const rules: string[][] = [];
  for (const b of dropped) {
    const src = addressOf(b);
    if (src !== undefined) rules.push(['-A', 'INPUT', '-s', src, '-j', 'DROP']);
  }
  return rules;
}

/** `-w` waits for the xtables lock, so parallel runs never fail on each other's updates. */
export function iptablesArgs(rule: readonly string[]): string[] {
  return ['-w', '5', ...rule];
}

export async function iptablesCapability(run: CommandRunner): Promise<Capability> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return { unavailable: 'partitions need iptables, which needs root (run the harness as root)' };
  }
  try {
    await run('iptables', iptablesArgs(['-S', 'INPUT']));
    return true;
  } catch (err) {
    return { unavailable: `iptables is not usable here: ${firstLine(err)}` };
  }
}

/** Creates the run's chain and jumps to it first thing in INPUT. */
export async function createChain(run: CommandRunner, chain: string): Promise<void> {
  await run('iptables', iptablesArgs(['-N', chain]));
  await run('iptables', iptablesArgs(['-I', 'INPUT', '1', '-j', chain]));
}

export async function flushChain(run: CommandRunner, chain: string): Promise<void> {
  await run('iptables', iptablesArgs(['-F', chain]));
}

export async function applyRules(run: CommandRunner, rules: readonly (readonly string[])[]): Promise<void> {
  for (const rule of rules) await run('iptables', iptablesArgs(rule));
}

/** Removes every jump to the chain, then the chain itself; a chain that is already gone is fine. */
export async function deleteChain(run: CommandRunner, chain: string): Promise<void> {
  for (let i = 0; i < 16; i++) {
    try {
      await run('iptables', iptablesArgs(['-D', 'INPUT', '-j', chain]));
    } catch {
      break;
    }
  }
  try {
    await run('iptables', iptablesArgs(['-F', chain]));
    await run('iptables', iptablesArgs(['-X', chain]));
  } catch {
    // Already gone.
  }
}

/** Chains named QUORUMLAB-* present now (from `iptables -S`). */
export async function listChains(run: CommandRunner): Promise<string[]> {
  const { stdout } = await run('iptables', iptablesArgs(['-S']));
  return parseChains(stdout);
}

export function parseChains(iptablesS: string): string[] {
  const out: string[] = [];
  for (const line of iptablesS.split('\n')) {
    const m = /^-N (\S+)/.exec(line.trim());
    if (m !== null && m[1]!.startsWith(chainPrefix)) out.push(m[1]!);
  }
  return out;
}

function firstLine(err: unknown): string {
  const e = err as { stderr?: unknown; message?: unknown };
  const text = typeof e.stderr === 'string' && e.stderr.trim() !== '' ? e.stderr : String(e.message ?? err);
  return text.trim().split('\n')[0] ?? '';
}
