// One node as a child process of the harness (the local runtime): started in its own process group with
// both output streams appended to its log, signalled as a group (SIGKILL, SIGSTOP, SIGCONT, SIGTERM) from
// outside, and waited for. A restart is a new process on the same data, so one NodeProcess spans them all.
import { execa, type ResultPromise } from 'execa';

export interface StartNode {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly logFile: string;
  /** A shell command that starts another NODE-API.md node; default: the reference node. */
  readonly nodeCmd?: string;
}

export class NodeProcess {
  private proc: ResultPromise | undefined;
  private exited: Promise<void> | undefined;

  constructor(
    private readonly id: string,
    private readonly log: (line: string) => void,
  ) {}

  /** Whether a process is running (or stopped by SIGSTOP) now; false once it has exited. */
  get running(): boolean {
    return this.proc !== undefined;
  }

  /** The process group leader's pid while running. */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  start(how: StartNode): void {
    // Appending keeps the log of every incarnation of the node in one file; both streams go to it.
    const logTarget = { file: how.logFile, append: true } as const;
    const common = {
      cwd: how.cwd,
      env: how.env,
      extendEnv: true,
      stdin: 'ignore',
      stdout: logTarget,
      stderr: logTarget,
      reject: false,
      // Its own process group, so signals reach a shell-wrapped node program and all its children.
      detached: true,
      cleanup: false,
    } as const;
    const proc = how.nodeCmd !== undefined ? execa(how.nodeCmd, { ...common, shell: true }) : execa(process.execPath, ['--import', 'tsx', 'node/main.ts'], common);
    this.proc = proc;
    this.exited = proc.then(() => undefined).catch(() => undefined).finally(() => {
      if (this.proc === proc) this.proc = undefined;
    });
  }

  /** Signals the whole process group (falls back to the process alone). */
  signal(signal: NodeJS.Signals): void {
    const pid = this.proc?.pid;
    if (pid === undefined) throw new Error(`${this.id} is not running (definite: no ${signal} was sent)`);
    try {
      process.kill(-pid, signal);
    } catch {
      this.proc?.kill(signal);
    }
  }

  /**
   * Sends a signal and waits for the process to exit; escalates to SIGKILL after `graceMs`. A process
   * stopped by SIGSTOP (`paused`) cannot act on SIGTERM until it is continued, so it is continued too.
   */
  async stop(signal: NodeJS.Signals, paused: boolean, graceMs = 5_000): Promise<void> {
    if (this.proc === undefined) return;
    const exited = this.exited!;
    this.signal(signal);
    if (signal !== 'SIGKILL' && paused) this.signal('SIGCONT');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([exited.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs)))]);
    clearTimeout(timer);
    if (timedOut) {
      this.log(`${this.id} did not exit ${graceMs} ms after ${signal}; sending SIGKILL`);
      if (this.proc !== undefined) this.signal('SIGKILL');
      await exited;
    }
  }

  /** SIGKILL to the group without waiting: for a harness exiting without its teardown. */
  killNow(): void {
    const pid = this.proc?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}
