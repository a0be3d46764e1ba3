// Bundles an ES module entry for the browser with rolldown (what Vite 8 uses), from the web
// demo's dependencies. Used to load npm packages with bare imports into benchmark pages.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ROOT } from '../../tests/support/paths.mjs';

/** Bundles `entryCode`; `define` replaces expressions (e.g. `process.env.NODE_ENV`). */
export async function bundle(entryCode, { minify = false, define } = {}) {
  const require = createRequire(join(ROOT, 'web-demo', 'package.json'));
  const { rolldown } = await import(require.resolve('rolldown'));
  const build = await rolldown({
    input: 'entry',
    cwd: ROOT,
    plugins: [{ name: 'entry', resolveId: (id) => (id === 'entry' ? id : null), load: (id) => (id === 'entry' ? entryCode : null) }],
    ...(define ? { transform: { define } } : {}),
    logLevel: 'silent',
  });
  const { output } = await build.generate({ format: 'esm', minify });
  return output.filter((o) => o.type === 'chunk').map((o) => o.code).join('\n');
}
