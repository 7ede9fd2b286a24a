// A key's home replicas as the nodes themselves say (`GET /admin/preflist/{key}`, NODE-API.md): the
// ring-aware partitions cut around them, so they come from the node under test, never from a copy of the
// reference node's ring (another implementation may place keys differently).
import type { Runtime } from '../runtime/runtime.js';

/** The first answer of `ask`'s nodes in turn; a node that is down or refuses is skipped. */
export async function homeReplicas(runtime: Runtime, key: string, ask: readonly string[]): Promise<{ readonly homes: string[]; readonly from: string }> {
  const tried: string[] = [];
  for (const node of ask) {
    try {
      const out = await runtime.client(node).adminPreflist(key);
      if (out.type === 'ok' && out.value.length > 0) return { homes: [...out.value], from: node };
      tried.push(`${node}: ${out.type === 'ok' ? 'empty list' : out.error}`);
    } catch (error) {
      tried.push(`${node}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    }
  }
  throw new Error(`no member named the home replicas of ${key} (${tried.join('; ') || 'none asked'}) (definite: nothing was cut)`);
}
