// Host programs (iptables) for the local runtime, run through execa as the iptables module's command runner.
import { execa } from 'execa';
import type { CommandRunner } from './iptables.js';

/** Resolves with stdout; rejects on a non-zero exit or after 20 s. */
export const runHostCommand: CommandRunner = async (file, args) => {
  const r = await execa(file, [...args], { reject: true, timeout: 20_000 });
  return { stdout: r.stdout };
};
