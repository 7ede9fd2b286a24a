// One node process on a host, driven over SSH from outside: started detached in its own session (setsid,
// so it outlives the SSH command and signals reach its whole group), its QL_* environment read from a file
// only its user can read (the run's secret never appears in a command line), signalled by process group
// (SIGKILL, SIGSTOP, SIGCONT, SIGTERM), its clock moved by rewriting its libfaketime offset file, its log
// appended across restarts and fetched back at the end, its data directory emptied for a lost disk.
import { formatOffset } from './faketime.js';
import { shellQuote as q, type SshConnection } from './ssh-client.js';
import { remoteRunDir, scriptPrelude } from './ssh-host-run.js';

export interface RemoteNodeFiles {
  readonly dir: string;
  readonly data: string;
  readonly offset: string;
  readonly log: string;
  readonly pid: string;
  readonly env: string;
}

export function remoteNodeFiles(hostDir: string, runId: string, host: string, nodeId: string): RemoteNodeFiles {
  const dir = `${remoteRunDir(hostDir, runId, host)}/${nodeId}`;
  return { dir, data: `${dir}/data`, offset: `${dir}/faketime/offset`, log: `${dir}/node.log`, pid: `${dir}/node.pid`, env: `${dir}/node.env` };
}

/** A shell function: whether a pid is a live process (a zombie nobody reaped yet counts as gone). */
const aliveFn = 'alive() { s=$(sed -n \'s/^.*) \\(.\\).*$/\\1/p\' "/proc/$1/stat" 2>/dev/null); [ -n "$s" ] && [ "$s" != Z ]; }';

export class RemoteNode {
  /** The session leader's pid while started (also its process group id). */
  private pid: number | undefined;

  constructor(
    readonly conn: SshConnection,
    readonly files: RemoteNodeFiles,
    /** Where the node's program runs from (the bundle's app directory). */
    private readonly appDir: string,
    /** The program and its arguments. */
    private readonly command: readonly string[],
  ) {}

  get started(): boolean {
    return this.pid !== undefined;
  }

  /** Makes the node's directories, its environment file (mode 600) and a zero clock offset. */
  async prepare(env: Readonly<Record<string, string>>): Promise<void> {
    const f = this.files;
    const envText = Object.entries(env).map(([k, v]) => `${k}=${q(v)}\n`).join('');
    await this.conn.run(
      [
        'set -e',
        `mkdir -p ${q(f.data)} ${q(f.offset.slice(0, f.offset.lastIndexOf('/')))}`,
        `(umask 077 && cat > ${q(f.env)})`,
        `printf '%s\\n' ${q(formatOffset(0))} > ${q(f.offset)}`,
      ].join('\n'),
      { input: envText },
    );
  }

  /** Starts the node detached; resolves with its pid once it is running (not yet ready). */
  async start(): Promise<number> {
    const f = this.files;
    const out = await this.conn.run(
      [
        scriptPrelude,
        `cd ${q(this.appDir)} || exit 1`,
        `set -a; . ${q(f.env)}; set +a`,
        `setsid ${this.command.map(q).join(' ')} </dev/null >>${q(f.log)} 2>&1 &`,
        `echo $! > ${q(f.pid)}`,
        'echo "pid=$!"',
      ].join('\n'),
    );
    const m = /pid=(\d+)/.exec(out);
    if (m === null) throw new Error(`${this.conn.label}: the node start printed no pid (${out.trim() || 'nothing'}) (unknown whether it runs)`);
    this.pid = Number(m[1]);
    return this.pid;
  }

  /** Signals the node's process group; a node that is not started is a definite refusal. */
  async signal(signal: 'KILL' | 'STOP' | 'CONT' | 'TERM'): Promise<void> {
    const pid = this.mustPid(signal);
    await this.conn.run(`kill -${signal} -${pid} 2>/dev/null || kill -${signal} ${pid}`);
  }

  /** SIGKILL to the group, then waits (bounded) until the process is gone. */
  async kill(): Promise<void> {
    if (this.pid === undefined) return;
    const pid = this.pid;
    await this.conn.run([aliveFn, `kill -KILL -${pid} 2>/dev/null || kill -KILL ${pid} 2>/dev/null`, waitGone(pid, 5_000)].join('\n'));
    this.pid = undefined;
  }

  /** SIGTERM (and SIGCONT, in case it is paused), SIGKILL after `graceMs`; resolves once it is gone. */
  async stop(graceMs: number): Promise<void> {
    if (this.pid === undefined) return;
    const pid = this.pid;
    await this.conn.run([
      aliveFn,
      `kill -TERM -${pid} 2>/dev/null; kill -CONT -${pid} 2>/dev/null`,
      `${waitGone(pid, graceMs)} || { kill -KILL -${pid} 2>/dev/null; ${waitGone(pid, 5_000)}; }`,
    ].join('\n'));
    this.pid = undefined;
  }

  /** Whether the started process still runs; undefined when the host could not be asked. */
  async alive(): Promise<boolean | undefined> {
    if (this.pid === undefined) return false;
    try {
      return (await this.conn.exec(`${aliveFn}\nalive ${this.pid}`, { timeoutMs: 10_000 })).exitCode === 0;
    } catch {
      return undefined;
    }
  }

  /** A lost disk: empties the data directory (the directory itself stays, as a fresh disk's mount point would). */
  async wipeData(): Promise<void> {
    const d = this.files.data;
    await this.conn.run(`[ -d ${q(d)} ] && find ${q(d)} -mindepth 1 -maxdepth 1 -exec rm -rf {} +`);
  }

  /** Rewrites the offset file atomically (temp file + rename), so libfaketime never reads half a line. */
  async setClockOffset(offsetMs: number): Promise<void> {
    const f = this.files.offset;
    await this.conn.run(`printf '%s\\n' ${q(formatOffset(offsetMs))} > ${q(`${f}.tmp`)} && mv -f ${q(`${f}.tmp`)} ${q(f)}`);
  }

  async logTail(lines = 20): Promise<string> {
    try {
      return (await this.conn.run(`tail -n ${lines} ${q(this.files.log)} 2>/dev/null || true`, { timeoutMs: 10_000 })).trimEnd() || '(empty log)';
    } catch (err) {
      return `(no log: ${(err as Error).message.split('\n')[0]})`;
    }
  }

  /** Copies the node's log (every incarnation) to a local file. */
  async fetchLog(localFile: string): Promise<void> {
    await this.conn.download(`cat ${q(this.files.log)} 2>/dev/null || true`, localFile);
  }

  private mustPid(what: string): number {
    if (this.pid === undefined) throw new Error(`${this.conn.label}: the node is not running (definite: no ${what} was sent)`);
    return this.pid;
  }
}

/** A loop that returns 0 once `pid` is gone, 1 if it still runs after `timeoutMs` (needs aliveFn). */
function waitGone(pid: number, timeoutMs: number): string {
  const rounds = Math.max(1, Math.ceil(timeoutMs / 50));
  return `(i=0; while alive ${pid}; do i=$((i+1)); [ $i -ge ${rounds} ] && exit 1; sleep 0.05; done; exit 0)`;
}
