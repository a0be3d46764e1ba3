// A small static file server for browser tests: maps URL prefixes to directories on disk.
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.css': 'text/css',
};

/**
 * Serves `mounts` ({ '/pkg/': '/abs/dir' }) on a free loopback port; resolves to { url, close }.
 * `handler(req, res)`, when given, sees each request first and returns true if it answered;
 * `headers` are added to every file served.
 */
export async function serveStatic(mounts, { handler, headers = {} } = {}) {
  const server = createServer(async (req, res) => {
    if (handler && (await handler(req, res))) return;
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const mount = Object.keys(mounts).find((prefix) => path.startsWith(prefix));
    if (!mount) return void res.writeHead(404).end();
    const file = normalize(join(mounts[mount], path.slice(mount.length)));
    if (!file.startsWith(mounts[mount])) return void res.writeHead(403).end();
    try {
      const target = (await stat(file)).isDirectory() ? join(file, 'index.html') : file;
      const body = await readFile(target);
      res.writeHead(200, {
        'content-type': TYPES[extname(target)] ?? 'application/octet-stream',
        'cache-control': 'no-store',
        'service-worker-allowed': '/',
        ...headers,
      });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(resolve);
    }),
  };
}
