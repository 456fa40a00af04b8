// What publishing relies on, checked on the sources: every path the page loads goes through
// assets.js (so the site works under any sub-path and inside a lesson file), the lesson file
// knows every worker and every shipped weights file, its import rewriting by hand, and the
// GitHub Pages workflow publishes what `cargo xtask dist` writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WORKERS, MODELS, resolvePath, rewriteImports } from '../../www/lesson.js';

const WWW = fileURLToPath(new URL('../../www/', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function jsFiles(dir = WWW) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return f === 'pkg' ? [] : jsFiles(p);
    return f.endsWith('.js') ? [relative(WWW, p)] : [];
  });
}

test('only assets.js resolves paths against import.meta.url', () => {
  const users = jsFiles().filter((f) => /import\.meta\.url/.test(readFileSync(join(WWW, f), 'utf8').replace(/^\s*\/\/.*$/gm, '')));
  assert.deepEqual(users, ['assets.js']);
  // … and nothing fetches or starts a worker by a relative URL of its own.
  for (const f of jsFiles()) {
    const src = readFileSync(join(WWW, f), 'utf8');
    assert.doesNotMatch(src, /new Worker\(\s*['"`]/, `${f} starts a worker without startWorker()`);
    assert.doesNotMatch(src, /fetch\(\s*['"`]\.\.?\//, `${f} fetches a relative path without asset()`);
  }
});

test('the lesson file carries every worker and every shipped weights file', () => {
  const started = new Set();
  for (const f of jsFiles()) {
    for (const m of readFileSync(join(WWW, f), 'utf8').matchAll(/['"]((?:training\/)?[\w-]*worker\.js)['"]/g)) started.add(m[1]);
  }
  assert.ok(started.size >= 4, [...started].join(' '));
  for (const w of started) assert.ok(WORKERS.includes(w), `${w} is in lesson.js WORKERS`);
  const shipped = readdirSync(join(WWW, 'models')).filter((f) => f.endsWith('.safetensors')).map((f) => `models/${f}`).sort();
  assert.deepEqual([...MODELS].sort(), shipped);
});

test('import paths are rewritten by hand-checked rules', () => {
  assert.equal(resolvePath('panels/layer.js', '../engine.js'), 'engine.js');
  assert.equal(resolvePath('panels/layer.js', './learn.js'), 'panels/learn.js');
  assert.equal(resolvePath('training/worker.js', '../pkg/lm_playground.js'), 'pkg/lm_playground.js');
  const src = `import a, { b } from './x.js';\nexport * from "../y.js";\nimport './z.js';\nconst m = await import('./w.js');\nconst s = 'from ./not.js';`;
  const out = rewriteImports(src, 'panels/p.js', (p) => `lm:${p}`);
  assert.equal(out, `import a, { b } from 'lm:panels/x.js';\nexport * from "lm:y.js";\nimport 'lm:panels/z.js';\nconst m = await import('lm:panels/w.js');\nconst s = 'from ./not.js';`);
});

test('the GitHub Pages workflow publishes what cargo xtask dist writes', () => {
  const yml = readFileSync(join(ROOT, '.github/workflows/pages.yml'), 'utf8');
  assert.match(yml, /run: cargo xtask dist\b/);
  assert.match(yml, /upload-pages-artifact@v\d+\s+with:\s+path: dist\b/);
  assert.match(yml, /deploy-pages@v\d+/);
  assert.match(yml, /wasm32-unknown-unknown/);
  const xtask = readFileSync(join(ROOT, 'xtask/src/main.rs'), 'utf8');
  assert.match(xtask, /let mut out = root\.join\("dist"\)/, 'dist/ is the default folder');
});
