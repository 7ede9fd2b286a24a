// Why a test that needs something from the machine cannot run here: one place for the checks, so every
// such test skips (a tap skip with this reason) instead of passing without exercising what it names.
// CI has all of them, and .ci/run fails a run in which any test skipped.
import { execFileSync } from 'node:child_process';
import { faketimeCapability } from '../../harness/runtime/faketime.js';

/** Why iptables partitions cannot be applied to local processes here (root and a working iptables), or false. */
export function whyNoPartitions(): string | false {
  if (process.getuid?.() !== 0) return 'partitions on local processes need root for iptables (run as root to include this test)';
  try {
    execFileSync('iptables', ['-w', '5', '-S', 'INPUT'], { stdio: 'ignore' });
  } catch (error) {
    return `partitions on local processes need a working iptables: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
  }
  return false;
}

/** Why clock skew cannot be applied to local processes here (libfaketime), or false. */
export function whyNoClock(): string | false {
  const cap = faketimeCapability();
  return cap === true ? false : `clock skew on local processes needs libfaketime: ${cap.unavailable}`;
}
