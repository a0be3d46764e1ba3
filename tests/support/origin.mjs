// A test origin whose API answers with the caching headers each test asks for, and counts
// how often the network was really used.
//
//   GET /api/echo?id=ID&cc=…&etag=…&lm=…&expires=…&age=…&vary=…&tag=…&cookie=1&status=…&delay=ms
//       &switch=N&then.<param>=…   (from the N-th request for ID on, then.<param> replaces <param>)
//       &body=<base64>&ctype=<Content-Type, or none>   (these bytes instead of the JSON)
//   GET /api/hits?id=ID          → {"n": requests seen for ID}
//   GET /api/mode?id=ID&down=1   → requests for ID now fail at the network level (down=0 heals)
import { serveStatic } from './static-server.mjs';

export async function startOrigin(mounts, { headers, peers } = {}) {
  const hits = new Map();
  // Benchmarks serve isolated pages; the API's answers must then allow being embedded.
  const extra = headers ? { 'cross-origin-resource-policy': 'same-origin' } : {};
  const down = new Set();
  const handler = async (req, res) => {
    if (peers && peers(req, res)) return true;
    const url = new URL(req.url, 'http://x');
    const q = url.searchParams;
    const id = q.get('id') ?? 'default';
    if (url.pathname === '/api/hits') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ n: hits.get(id) ?? 0 }));
      return true;
    }
    if (url.pathname === '/api/mode') {
      if (q.get('down') === '1') down.add(id);
      else down.delete(id);
      res.writeHead(204, { 'cache-control': 'no-store' }).end();
      return true;
    }
    if (url.pathname !== '/api/echo') return false;
    const n = (hits.get(id) ?? 0) + 1;
    hits.set(id, n);
    if (q.has('switch') && n >= Number(q.get('switch'))) {
      for (const [name, value] of [...q]) if (name.startsWith('then.')) q.set(name.slice(5), value);
    }
    if (down.has(id)) {
      req.socket.destroy();
      return true;
    }
    if (q.has('delay')) await new Promise((r) => setTimeout(r, Number(q.get('delay'))));
    const headers = { 'content-type': 'application/json', 'x-served': String(n), ...extra };
    const copy = { cc: 'cache-control', etag: 'etag', lm: 'last-modified', expires: 'expires', age: 'age', vary: 'vary', tag: 'cache-tag' };
    for (const [param, header] of Object.entries(copy)) if (q.has(param)) headers[header] = q.get(param);
    if (q.get('ctype') === 'none') delete headers['content-type'];
    else if (q.has('ctype')) headers['content-type'] = q.get('ctype');
    if (q.get('cookie') === '1') headers['set-cookie'] = `session-${id}=s${n}; Path=/`;
    const etagMatch = q.has('etag') && req.headers['if-none-match'] === q.get('etag');
    const since = Date.parse(req.headers['if-modified-since'] ?? '');
    const notModified = etagMatch || (q.has('lm') && !q.has('etag') && since >= Date.parse(q.get('lm')));
    if (notModified) {
      delete headers['content-type'];
      res.writeHead(304, headers).end();
      return true;
    }
    const varied = q.has('vary') ? req.headers[q.get('vary').toLowerCase()] ?? null : null;
    res.writeHead(Number(q.get('status') ?? 200), headers);
    res.end(q.has('body') ? Buffer.from(q.get('body'), 'base64') : JSON.stringify({ id, n, varied }));
    return true;
  };
  return serveStatic(mounts, { handler, headers });
}
