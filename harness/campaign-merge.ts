// `quorumlab campaign merge <dirs…>`: shards of one campaign (`campaign --shard i/n`, run anywhere) put
// back together into one campaign folder with the same table, campaign.json rows and campaign.html as the
// campaign run on one machine. Refused, in one line, before anything is written: a folder that holds no
// shard, shards of different campaigns (their identity hashes differ), shards split differently, a shard
// given twice, a shard missing, or a shard that did not finish.
import { cp, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { finishCampaign, type CampaignResult } from './campaign.js';
import { campaignHeader, rowsFromSummary, shardSize, writeCampaignSummary, type CampaignHeader, type StoredRow } from './campaign-shard.js';
import { createRunDir, readJson } from './store.js';

interface ShardFolder {
  readonly dir: string;
  readonly name: string;
  readonly options: Record<string, unknown>;
  readonly header: CampaignHeader;
  readonly rows: StoredRow[];
}

/** The campaign folders at or under `dir` (a shard's campaign folder, or the store it wrote to). */
async function campaignFolders(dir: string, depth = 0): Promise<string[]> {
  let names: import('node:fs').Dirent[];
  try {
    names = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if (depth === 0) throw new InvalidArgumentError(`campaign merge: cannot read ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    return [];
  }
  if (names.some((d) => d.isFile() && d.name === 'campaign.json')) return [dir];
  if (depth >= 2) return [];
  const found: string[] = [];
  for (const d of names.filter((x) => x.isDirectory()).sort((a, b) => (a.name < b.name ? -1 : 1))) found.push(...(await campaignFolders(join(dir, d.name), depth + 1)));
  return found;
}

async function readShard(dir: string): Promise<ShardFolder> {
  let json: { options?: Record<string, unknown>; campaign?: CampaignHeader; rows?: StoredRow[] };
  try {
    json = await readJson(join(dir, 'campaign.json'));
  } catch (e) {
    throw new InvalidArgumentError(`campaign merge: ${dir}/campaign.json is not readable JSON (${(e as Error).message.split('\n')[0]})`);
  }
  const h = json.campaign;
  if (h === undefined || typeof h.id !== 'string' || typeof h.runs !== 'number' || !Array.isArray(json.rows)) {
    throw new InvalidArgumentError(`campaign merge: ${dir} has no campaign identity (written before shards existed?); run it again`);
  }
  return { dir, name: String(json.options?.['name'] ?? 'campaign'), options: json.options ?? {}, header: h, rows: rowsFromSummary(dir, json.rows) };
}

/** Checks that the shards are exactly one campaign's 1/n … n/n, each complete; throws one line otherwise. */
export function checkShards(shards: readonly ShardFolder[]): void {
  if (shards.length === 0) throw new InvalidArgumentError('campaign merge: no campaign folder (campaign.json) found in the folders given');
  const first = shards[0]!;
  const label = (s: ShardFolder): string => `${s.dir} (${s.header.shard === null ? 'whole campaign' : `shard ${s.header.shard.index}/${s.header.shard.count}`})`;
  for (const s of shards) {
    if (s.header.id !== first.header.id) {
      throw new InvalidArgumentError(`campaign merge: shards of different campaigns: ${label(first)} is campaign ${first.header.id} "${first.name}", ` +
        `${label(s)} is ${s.header.id} "${s.name}"`);
    }
  }
  const count = first.header.shard?.count ?? 1;
  const byIndex = new Map<number, ShardFolder>();
  for (const s of shards) {
    const shard = s.header.shard ?? { index: 1, count: 1 };
    if (shard.count !== count) throw new InvalidArgumentError(`campaign merge: shards split differently: ${label(first)} and ${label(s)}`);
    const twice = byIndex.get(shard.index);
    if (twice !== undefined) throw new InvalidArgumentError(`campaign merge: shard ${shard.index}/${count} given twice: ${twice.dir} and ${s.dir}`);
    byIndex.set(shard.index, s);
    const expected = shardSize(s.header.runs, shard);
    if (s.rows.length !== expected) {
      throw new InvalidArgumentError(`campaign merge: ${label(s)} is incomplete: ${s.rows.length} of its ${expected} runs have results (interrupted?)`);
    }
  }
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !byIndex.has(i));
  if (missing.length > 0) {
    throw new InvalidArgumentError(`campaign merge: missing shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${count}`).join(', ')} ` +
      `of campaign ${first.header.id} "${first.name}" (have ${[...byIndex.keys()].sort((a, b) => a - b).map((i) => `${i}/${count}`).join(', ')})`);
  }
}

export interface MergeOptions {
  readonly store: string;
  readonly quiet?: boolean;
  readonly log?: (line: string) => void;
}

/** Merges shard folders (or folders holding them) into a new campaign folder in the store. */
export async function mergeCampaign(dirs: readonly string[], options: MergeOptions): Promise<CampaignResult> {
  const log = options.quiet === true ? () => {} : (options.log ?? ((line: string) => console.log(line)));
  const folders: string[] = [];
  for (const d of dirs) {
    const st = await stat(d).catch(() => null);
    if (st === null || !st.isDirectory()) throw new InvalidArgumentError(`campaign merge: ${d} is not a folder`);
    folders.push(...(await campaignFolders(d)));
  }
  const shards = await Promise.all(folders.map(readShard));
  checkShards(shards);
  const first = shards[0]!;
  const dir = await createRunDir(options.store, first.name, new Date());
  log(`campaign merge "${first.name}" (campaign ${first.header.id}): ${shards.length} shard${shards.length > 1 ? 's' : ''}, ${first.header.runs} runs → ${dir}`);
  const rows: StoredRow[] = [];
  for (const s of shards) {
    for (const r of s.rows) {
      let runDir: string | null = null;
      if (r.runDir !== null) {
        runDir = join(dir, 'runs', basename(r.runDir));
        await cp(r.runDir, runDir, { recursive: true, errorOnExist: true, force: false }).catch((e: Error) => {
          throw new InvalidArgumentError(`campaign merge: cannot copy ${r.runDir}: ${(e as NodeJS.ErrnoException).code ?? e.message.split('\n')[0]}`);
        });
      }
      rows.push({ ...r, runDir });
    }
  }
  rows.sort((a, b) => a.index - b.index);
  const header = campaignHeader(first.header.id, first.header.runs, null);
  const merged = { ...first.options, store: options.store, shard: undefined, mergedFrom: shards.map((s) => s.dir) };
  await writeCampaignSummary(dir, merged, header, rows);
  return finishCampaign(options.store, dir, first.name, merged, header, rows, log);
}
