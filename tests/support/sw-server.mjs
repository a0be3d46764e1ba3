// The origin the service-worker suite runs on: service-worker/sw.js at /app/sw.js with a route
// table from tests/pages/sw/, the packed package at /app/cache-wasm/, and /app/data/…, a
// dynamic endpoint whose answer the test chooses by query string:
//   cc=<Cache-Control>  status=<code>  tag=<Cache-Tag>  vary=<Vary>  delay=<ms>  size=<bytes of padding>
//   tagFrom=<request header whose value is the Cache-Tag>
// (`server.delays[path] = ms` delays a path whatever its query).
// Each answer is JSON `{ path, n }`, n counting the requests for that path, so a test sees
// whether the network was reached. `server.offline = true` drops every /app/data request
// (a network error in the worker); `server.files[path] = text` overrides a served file.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { ROOT, PACKAGE_DIR } from './paths.mjs';

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.wasm': 'application/wasm', '.json': 'application/json' };

export async function startSwServer() {
  // A copy of the package, so a rebuild running meanwhile cannot pull it from under the suite.
  const pkg = mkdtempSync(join(tmpdir(), 'cw-sw-pkg-'));
  cpSync(PACKAGE_DIR, pkg, { recursive: true });
  const MOUNTS = [
    ['/app/sw.js', join(ROOT, 'service-worker', 'sw.js')],
    ['/app/cache-wasm/', pkg],
    ['/app/', join(ROOT, 'tests', 'pages', 'sw')],
  ];
  const counts = new Map();
  const state = { offline: false, files: {}, counts, delays: {} };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname.startsWith('/app/data/')) return data(state, url, req, res);
    if (state.files[url.pathname] !== undefined) return send(res, url.pathname, state.files[url.pathname]);
    const mount = MOUNTS.find(([prefix]) => url.pathname === prefix || (prefix.endsWith('/') && url.pathname.startsWith(prefix)));
    if (!mount) return void res.writeHead(404).end();
    const file = mount[0].endsWith('/') ? normalize(join(mount[1], url.pathname.slice(mount[0].length))) : mount[1];
    if (!file.startsWith(mount[1])) return void res.writeHead(403).end();
    try {
      send(res, file, await readFile(file));
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    /** The same server on another origin (for opaque responses). */
    otherOrigin: `http://localhost:${port}`,
    /** How many requests reached the network for `path`. */
    count: (path) => counts.get(path) ?? 0,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      rmSync(pkg, { recursive: true, force: true });
    },
  });
}

function send(res, path, body) {
  res.writeHead(200, {
    'content-type': TYPES[extname(path)] ?? 'application/octet-stream',
    'cache-control': 'no-store',
    'service-worker-allowed': '/',
  });
  res.end(body);
}

async function data(state, url, req, res) {
  if (state.offline) return void req.socket.destroy();
  const q = url.searchParams;
  const n = (state.counts.get(url.pathname) ?? 0) + 1;
  state.counts.set(url.pathname, n);
  const delay = Number(q.get('delay') ?? state.delays[url.pathname] ?? 0);
  if (delay) await new Promise((r) => setTimeout(r, delay));
  const headers = { 'content-type': 'application/json' };
  if (q.has('cc')) headers['cache-control'] = q.get('cc');
  if (q.has('tag')) headers['cache-tag'] = q.get('tag');
  if (q.has('tagFrom')) headers['cache-tag'] = req.headers[q.get('tagFrom')] ?? '';
  if (q.has('vary')) headers.vary = q.get('vary');
  const body = JSON.stringify({ path: url.pathname, n, pad: 'x'.repeat(Number(q.get('size') ?? 0)) });
  res.writeHead(Number(q.get('status') ?? 200), headers);
  res.end(body);
}
