// The one module that speaks SSH: the OpenSSH client (`ssh`) run through execa. OpenSSH rather than an npm
// client because it brings what operators already rely on for free — their known_hosts, agent, ProxyJump
// and ssh_config — and because its connection sharing (ControlMaster) makes each remote command a few
// milliseconds once a host is connected, which keeps a fault's latency small. Host keys are checked
// against known_hosts by default (StrictHostKeyChecking=yes); accepting keys of hosts not yet known is an
// explicit choice (accept-new), and a changed key is refused either way.
import { execa, execaSync } from 'execa';
import type { Readable } from 'node:stream';

export interface SshTarget {
  readonly user: string;
  readonly host: string;
  readonly port: number;
  /** A private key file; without one the client's own identities (agent, ~/.ssh/id_*) are tried. */
  readonly key?: string;
}

export interface SshClientOptions {
  /** The known_hosts file host keys are checked against; default: the client's own (~/.ssh/known_hosts). */
  readonly knownHostsFile?: string;
  /** Accept and record the key of a host not in known_hosts yet (a changed key is still refused). */
  readonly acceptNewHostKeys?: boolean;
  /** Bound on reaching a host and authenticating. */
  readonly connectTimeoutS?: number;
  /** Directory for the shared-connection sockets; keep it short (a unix socket path has at most 107 bytes). */
  readonly controlDir: string;
}

export interface RemoteResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ExecOptions {
  /** Text or a stream for the remote command's stdin (closed at its end). */
  readonly input?: string | Readable;
  /** Bound on the whole command; past it the local client is killed and the outcome is unknown. */
  readonly timeoutMs?: number;
}

/** ssh's own exit status when it fails (cannot connect, refused key, …) rather than the remote command. */
const sshFailure = 255;

/** A word for a POSIX shell, quoted so the remote shell takes it literally. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export function targetLabel(t: SshTarget): string {
  const host = t.host.includes(':') ? `[${t.host}]` : t.host;
  return `${t.user}@${host}${t.port === 22 ? '' : `:${t.port}`}`;
}

/** ssh's complaint as one sentence that says what to do about it. */
export function describeSshFailure(stderr: string, t: SshTarget, options: Pick<SshClientOptions, 'knownHostsFile' | 'acceptNewHostKeys'> = {}): string {
  const text = stderr.trim();
  const known = options.knownHostsFile ?? '~/.ssh/known_hosts';
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|host key for .* has changed/i.test(text)) {
    return `its host key differs from the one in ${known} (refused: remove the old key only if you know why it changed)`;
  }
  if (/Host key verification failed|No .*host key is known/i.test(text)) {
    return options.acceptNewHostKeys === true
      ? `its host key could not be verified against ${known}`
      : `its host key is not in ${known} (check its fingerprint and add it, e.g. ssh-keyscan -p ${t.port} ${t.host} >> ${known}, or pass --accept-new-host-keys)`;
  }
  if (/Permission denied/i.test(text)) return `authentication was refused for ${t.user} (${lastLine(text)}): check the user and the key`;
  if (/Connection refused/i.test(text)) return `connection refused on port ${t.port} (is sshd running there?)`;
  if (/Could not resolve hostname/i.test(text)) return `its name does not resolve (${lastLine(text)})`;
  if (/timed out|No route to host|Network is unreachable|Host is unreachable/i.test(text)) return `it cannot be reached (${lastLine(text)})`;
  if (/Identity file .* not accessible|Load key .*: /i.test(text)) return `the key cannot be read (${lastLine(text)})`;
  return text === '' ? 'ssh failed without saying why' : lastLine(text);
}

function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return lines.at(-1) ?? '';
}

/**
 * One host: every command goes through one shared connection (ControlMaster=auto with ControlPersist, as
 * Ansible does it), made by the first command and kept for a minute of idleness, so a controller that dies
 * leaves no ssh process behind for long. Commands run under `sh -c`, whatever the user's login shell.
 */
export class SshConnection {
  readonly label: string;
  private readonly args: string[];

  constructor(
    readonly target: SshTarget,
    private readonly options: SshClientOptions,
  ) {
    this.label = targetLabel(target);
    const o = (kv: string): string[] => ['-o', kv];
    this.args = [
      '-p', String(target.port),
      '-l', target.user,
      ...o('BatchMode=yes'),
      ...o(`StrictHostKeyChecking=${options.acceptNewHostKeys === true ? 'accept-new' : 'yes'}`),
      ...(options.knownHostsFile !== undefined ? o(`UserKnownHostsFile=${options.knownHostsFile}`) : []),
      ...o(`ConnectTimeout=${options.connectTimeoutS ?? 10}`),
      ...o('ServerAliveInterval=5'),
      ...o('ServerAliveCountMax=3'),
      ...o('ControlMaster=auto'),
      ...o(`ControlPath=${options.controlDir}/%C`),
      ...o('ControlPersist=60'),
      ...o('LogLevel=ERROR'),
      ...(target.key !== undefined ? ['-i', target.key, ...o('IdentitiesOnly=yes')] : []),
    ];
  }

  private argv(script: string): string[] {
    return [...this.args, '--', this.target.host, `sh -c ${shellQuote(script)}`];
  }

  /** Runs a shell script on the host; resolves with its exit code and output (ssh's own failures reject). */
  async exec(script: string, opts: ExecOptions = {}): Promise<RemoteResult> {
    const r = await execa('ssh', this.argv(script), {
      reject: false,
      stripFinalNewline: false,
      timeout: opts.timeoutMs ?? 60_000,
      ...(typeof opts.input === 'string' ? { input: opts.input } : opts.input !== undefined ? { stdin: opts.input } : { stdin: 'ignore' }),
    });
    if (r.timedOut) throw new Error(`${this.label}: no answer within ${opts.timeoutMs ?? 60_000} ms (unknown whether the command ran)`);
    const exitCode = r.exitCode ?? sshFailure;
    if (exitCode === sshFailure) throw new Error(`${this.label}: ${describeSshFailure(String(r.stderr), this.target, this.options)}`);
    return { exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
  }

  /** Like exec, but a non-zero exit rejects, naming the command's first line of complaint. */
  async run(script: string, opts: ExecOptions = {}): Promise<string> {
    const r = await this.exec(script, opts);
    if (r.exitCode !== 0) throw new Error(`${this.label}: ${summarize(script)} exited with ${r.exitCode}: ${lastLine(r.stderr) || lastLine(r.stdout) || 'no output'}`);
    return r.stdout;
  }

  /** Runs a script and writes its stdout to a local file (logs can be large: they never pass through memory). */
  async download(script: string, localFile: string, timeoutMs = 120_000): Promise<void> {
    const r = await execa('ssh', this.argv(script), { reject: false, timeout: timeoutMs, stdin: 'ignore', stdout: { file: localFile } });
    if (r.timedOut) throw new Error(`${this.label}: no answer within ${timeoutMs} ms while copying to ${localFile}`);
    if (r.exitCode === sshFailure) throw new Error(`${this.label}: ${describeSshFailure(String(r.stderr), this.target, this.options)}`);
    if (r.exitCode !== 0) throw new Error(`${this.label}: ${summarize(script)} exited with ${String(r.exitCode)}: ${lastLine(String(r.stderr)) || 'no output'}`);
  }

  /** exec for an exiting controller: synchronous, bounded, never throws. */
  execSync(script: string, timeoutMs = 10_000): RemoteResult | undefined {
    try {
      const r = execaSync('ssh', this.argv(script), { reject: false, timeout: timeoutMs, stdin: 'ignore' });
      return { exitCode: r.exitCode ?? sshFailure, stdout: String(r.stdout), stderr: String(r.stderr) };
    } catch {
      return undefined;
    }
  }

  /** Ends the shared connection (its background ssh process); a connection already gone is fine. */
  async close(): Promise<void> {
    await execa('ssh', [...this.args, '-O', 'exit', this.target.host], { reject: false, timeout: 10_000, stdin: 'ignore' });
  }

  closeSync(): void {
    try {
      execaSync('ssh', [...this.args, '-O', 'exit', this.target.host], { reject: false, timeout: 5_000, stdin: 'ignore' });
    } catch {
      // Exiting anyway.
    }
  }
}

/** The first line of a script, shortened, for an error message. */
function summarize(script: string): string {
  const first = script.trim().split('\n')[0] ?? '';
  return `\`${first.length > 80 ? `${first.slice(0, 77)}...` : first}\``;
}
