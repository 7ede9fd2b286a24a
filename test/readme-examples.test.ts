// The README's shell examples marked `<!-- runnable: expect=TEXT -->` (the line right before a ```sh block)
// work as copied: each runs in bash with `set -euo pipefail` from the repository root, bounded in time, in
// a process group of its own that is killed afterwards (so a node it left running cannot outlive it); it
// must exit 0 and print TEXT. Temporary files go to a directory of the test's own, removed afterwards.
// A block marked `<!-- runnable: file=NAME -->` (a ```js or ```ts block: a file a user would copy into their
// own project) is written as NAME into the directory of the next runnable ```sh block, where
// node_modules/quorumlab is this repository (what `npm install quorumlab` gives a user); that sh block runs
// there instead of the repository root when it says `cwd=project`.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

interface RunnableBlock {
  /** 1-based line of the marker in README.md. */
  readonly line: number;
  readonly expect: string | undefined;
  readonly timeoutS: number;
  readonly script: string;
  /** Files of the user's project the block runs beside (from `file=` blocks before it). */
  readonly files: readonly { readonly name: string; readonly text: string }[];
  /** 'project': run in that project's directory rather than the repository root. */
  readonly cwd: 'repo' | 'project';
}

/** The runnable blocks of a Markdown text; a marker not followed by a ```sh block throws. */
function runnableBlocks(markdown: string): RunnableBlock[] {
  const lines = markdown.split('\n');
  const blocks: RunnableBlock[] = [];
  let files: { name: string; text: string }[] = [];
  lines.forEach((text, i) => {
    const marker = /^<!-- runnable(?::(.*))? -->$/.exec(text.trim());
    if (marker === null) return;
    const attrs = Object.fromEntries(
      [...(marker[1] ?? '').matchAll(/(\w+)=("[^"]*"|\S+)/g)].map((m) => [m[1]!, m[2]!.replace(/^"|"$/g, '')]),
    );
    const fence = lines[i + 1]?.trim();
    const end = lines.findIndex((l, j) => j > i + 1 && l.trim() === '```');
    if (attrs['file'] !== undefined) {
      if (fence !== '```js' && fence !== '```ts') throw new Error(`README.md:${i + 1}: a runnable file marker must be followed by a \`\`\`js or \`\`\`ts block`);
      if (end < 0) throw new Error(`README.md:${i + 1}: unterminated code block`);
      files.push({ name: attrs['file'], text: `${lines.slice(i + 2, end).join('\n')}\n` });
      return;
    }
    if (fence !== '```sh') throw new Error(`README.md:${i + 1}: a runnable marker must be followed by a \`\`\`sh block`);
    if (end < 0) throw new Error(`README.md:${i + 1}: unterminated code block`);
    blocks.push({
      line: i + 1,
      expect: attrs['expect'],
      timeoutS: Number(attrs['timeout'] ?? 120),
      script: lines.slice(i + 2, end).join('\n'),
      files,
      cwd: attrs['cwd'] === 'project' ? 'project' : 'repo',
    });
    files = [];
  });
  if (files.length > 0) throw new Error(`README.md: runnable file ${files[0]!.name} has no runnable sh block after it`);
  return blocks;
}

interface Ran {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly out: string;
}

/** Runs a script in bash in its own process group; kills the group when the script ends or times out. */
function runBlock(script: string, timeoutS: number, tmp: string, cwd = repoRoot): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', `set -euo pipefail\n${script}`], {
      cwd,
      env: { ...process.env, TMPDIR: tmp },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    let timedOut = false;
    const killGroup = (signal: NodeJS.Signals): void => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // The group is gone already.
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGKILL');
    }, timeoutS * 1000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      // Whatever the block started in the background goes with it.
      killGroup('SIGTERM');
      setTimeout(() => {
        killGroup('SIGKILL');
        resolve({ code, signal, timedOut, out });
      }, 500);
    });
  });
}

t.test('the runnable-block parser', async (t) => {
  const md = ['text', '<!-- runnable: expect="a b" timeout=5 -->', '```sh', 'echo a b', '```', '```sh', 'not marked', '```'].join('\n');
  t.same(runnableBlocks(md), [{ line: 2, expect: 'a b', timeoutS: 5, script: 'echo a b', files: [], cwd: 'repo' }]);
  const withFile = ['<!-- runnable: file=a.test.mjs -->', '```js', 'import x from "y";', '```', '<!-- runnable: cwd=project -->', '```sh', 'node --test', '```'].join('\n');
  t.same(runnableBlocks(withFile), [{ line: 5, expect: undefined, timeoutS: 120, script: 'node --test', files: [{ name: 'a.test.mjs', text: 'import x from "y";\n' }], cwd: 'project' }]);
  t.throws(() => runnableBlocks('<!-- runnable: file=a.mjs -->\n```sh\necho\n```'), /followed by a ```js or ```ts block/);
  t.throws(() => runnableBlocks('<!-- runnable: file=a.mjs -->\n```js\nx\n```'), /has no runnable sh block after it/);
  t.throws(() => runnableBlocks('<!-- runnable -->\ntext'), /must be followed by a ```sh block/);
  t.throws(() => runnableBlocks('<!-- runnable -->\n```sh\necho'), /unterminated/);
});

t.test('a failing block is reported as failing', async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'ql-readme-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  // A failing command in the middle fails the block under `set -e`, and a pipeline's failure under pipefail.
  t.not((await runBlock('false\necho after', 10, tmp)).code, 0);
  t.not((await runBlock('false | cat', 10, tmp)).code, 0);
  t.ok((await runBlock('sleep 30', 1, tmp)).timedOut, 'a block that hangs is cut off at its timeout');
});

const blocks = runnableBlocks(readFileSync(join(repoRoot, 'README.md'), 'utf8'));

t.test('README.md has runnable examples', async (t) => {
  // The "Running the node by hand" section: three nodes, and one node with N=R=W=1.
  t.ok(blocks.length >= 2, `${blocks.length} blocks marked runnable`);
});

for (const block of blocks) {
  t.test(`README.md:${block.line}: the example runs as copied`, { timeout: (block.timeoutS + 30) * 1000 }, async (t) => {
    const tmp = mkdtempSync(join(tmpdir(), 'ql-readme-'));
    t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
    // The user's project: the block's files beside a node_modules/quorumlab that is this repository.
    const project = join(tmp, 'project');
    mkdirSync(join(project, 'node_modules'), { recursive: true });
    symlinkSync(repoRoot, join(project, 'node_modules', 'quorumlab'));
    for (const f of block.files) writeFileSync(join(project, f.name), f.text);
    const ran = await runBlock(block.script, block.timeoutS, tmp, block.cwd === 'project' ? project : repoRoot);
    const tail = ran.out.split('\n').slice(-30).join('\n');
    t.notOk(ran.timedOut, `finished within ${block.timeoutS} s`);
    t.equal(ran.code, 0, 'exits 0', { signal: ran.signal, output: tail });
    if (block.expect !== undefined) t.ok(ran.out.includes(block.expect), `prints ${JSON.stringify(block.expect)}`);
  });
}
