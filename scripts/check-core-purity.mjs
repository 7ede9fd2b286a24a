// The node core must stay sans-IO so that the simulation, local and Docker runtimes run the same code.
// This check fails the build when a file under node/core/ imports an I/O module or reads ambient
// time or randomness directly; those must arrive through the injected environment instead.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../node/core/', import.meta.url).pathname;
const forbiddenImports = /(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"](?:node:)?(fs|fs\/promises|net|http|https|http2|dgram|child_process|cluster|dns|tls|os|worker_threads|readline|process|perf_hooks|timers|timers\/promises)['"]/;
const forbiddenCalls = [/\bDate\.now\s*\(/, /\bnew\s+Date\s*\(\s*\)/, /\bMath\.random\s*\(/, /\bperformance\.now\s*\(/, /\bprocess\./, /(?<![.\w])setTimeout\s*\(/, /(?<![.\w])setInterval\s*\(/, /(?<![.\w])setImmediate\s*\(/, /(?<![.\w])queueMicrotask\s*\(/];

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const problems = [];
for (const file of walk(root)) {
  const lines = readFileSync(file, 'utf8').split('\n');
  // env.ts declares the injected interfaces (a Timers.setTimeout method), so it is exempt from the call checks.
  const declaresInterfaces = file.endsWith('/env.ts');
  lines.forEach((line, i) => {
    const code = line.replace(/\/\/.*$/, '');
    if (forbiddenImports.test(code)) problems.push(`${file}:${i + 1}: I/O import in the sans-IO core: ${line.trim()}`);
    for (const re of declaresInterfaces ? [] : forbiddenCalls) {
      if (re.test(code)) problems.push(`${file}:${i + 1}: ambient time, randomness or scheduling in the core: ${line.trim()}`);
    }
  });
}
if (problems.length > 0) {
  console.error(problems.join('\n'));
  console.error(`core purity: ${problems.length} problem(s); inject these through CoreEnv instead.`);
  process.exit(1);
}
console.log('core purity: node/core has no I/O imports and no ambient time or randomness');
