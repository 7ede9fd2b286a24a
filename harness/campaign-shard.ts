// What makes a campaign one campaign wherever its pieces ran: an identity hash over its matrix (every
// run's options, in the canonical order), the deterministic 1/n a shard runs, and campaign.json, whose
// rows carry their place in the matrix and their run folder relative to the campaign folder, so shards
// written on other machines (a Kubernetes pod, a CI job) merge into the same table and page.
import { createHash } from 'node:crypto';
import { isAbsolute, join, relative, sep } from 'node:path';
import { safeName, writeJson } from './store.js';
import type { CampaignRow } from './campaign.js';
import type { RunOptions } from './run.js';

export interface CampaignShard {
  /** From 1. */
  readonly index: number;
  readonly count: number;
}

/** What campaign.json says about the campaign a folder belongs to. */
export interface CampaignHeader {
  /** The identity hash (campaignIdentity). */
  readonly id: string;
  /** Runs in the whole matrix. */
  readonly runs: number;
  /** Which shard this folder holds; null: the whole campaign (or a merge of its shards). */
  readonly shard: CampaignShard | null;
}

/** A row as campaign.json keeps it: with its place in the matrix. */
export type StoredRow = CampaignRow & { readonly index: number };

/** JSON with object keys sorted, so the same options hash the same however they were built. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The campaign's identity: a hash over its name and every planned run's options in order (without where
 * they write). Whatever changes a run (an axis, a seed, a fault shape, a node command, an --env) changes
 * the identity, so shards of two different campaigns can never be merged into one table.
 */
export function campaignIdentity(name: string, plan: readonly { readonly run: RunOptions }[]): string {
  // Where local nodes listen (hostBase) is not the campaign: shards run side by side on one machine merge.
  const runs = plan.map(({ run }) => ({ ...run, store: undefined, runDir: undefined, log: undefined, quiet: undefined, hostBase: undefined }));
  return createHash('sha256').update(canonicalJson({ name, runs })).digest('hex').slice(0, 16);
}

/** Whether run `index` of the matrix belongs to the shard: round robin, so every shard gets a similar mix. */
export function inShard(index: number, shard: CampaignShard): boolean {
  return index % shard.count === shard.index - 1;
}

export function shardOf<T extends { readonly index: number }>(plan: readonly T[], shard: CampaignShard): T[] {
  return plan.filter((p) => inShard(p.index, shard));
}

/** How many of `runs` runs the shard holds. */
export function shardSize(runs: number, shard: CampaignShard): number {
  return runs >= shard.index ? Math.floor((runs - shard.index) / shard.count) + 1 : 0;
}

export function campaignHeader(id: string, runs: number, shard: CampaignShard | null): CampaignHeader {
  return { id, runs, shard };
}

/** A run's folder in the campaign's runs/: its place in the matrix first, so a listing sorts as the table. */
export function runFolderName(index: number, name: string, seed: number): string {
  return safeName(`${String(index).padStart(4, '0')}-${name}-s${seed}`);
}

/** Writes campaign.json: the options, the header and the rows, each row's run folder relative to `dir`. */
export async function writeCampaignSummary(dir: string, options: Record<string, unknown> | object, header: CampaignHeader,
  rows: readonly StoredRow[]): Promise<void> {
  await writeJson(join(dir, 'campaign.json'), {
    options, campaign: header,
    rows: rows.map((r) => ({ ...r, runDir: r.runDir === null ? null : relative(dir, r.runDir).split(sep).join('/') })),
  });
}

/** campaign.json's rows with their run folders made absolute under `dir` (where they are now). */
export function rowsFromSummary(dir: string, rows: readonly StoredRow[]): StoredRow[] {
  return rows.map((r) => ({ ...r, runDir: r.runDir === null ? null : isAbsolute(r.runDir) ? r.runDir : join(dir, r.runDir) }));
}
