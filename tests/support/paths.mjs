import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const target = process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target');
/** The unpacked npm package, as apps get it (built by scripts/build-package.sh). */
export const PACKAGE_DIR = join(target, 'npm', 'cache-wasm');
export const PAGES_DIR = join(ROOT, 'tests', 'pages');
