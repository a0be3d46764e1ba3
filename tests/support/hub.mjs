// Starts the real hub (target/debug/sync-server) and a real redis-server for browser suites.
import { spawn, execFileSync } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { cpSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, PACKAGE_DIR, PAGES_DIR } from './paths.mjs';

const target = process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target');
export const HUB_BIN = join(target, 'debug', 'sync-server');
export const SECRET = 'browser-suite-secret-0123456789abcdef';

/** A free loopback port. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitFor(check, what, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A folder the hub serves: the test pages and the packed package under /pkg/. */
export function siteDir() {
  const dir = mkdtempSync(join(tmpdir(), 'cw-site-'));
  cpSync(PAGES_DIR, dir, { recursive: true });
  cpSync(PACKAGE_DIR, join(dir, 'pkg'), { recursive: true });
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Starts `sync-server serve` on a free port; `extra` adds flags. */
export async function startHub({ staticDir, redis, port, extra = [], bin = HUB_BIN } = {}) {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: the test command builds it`);
  port ??= await freePort();
  const args = ['serve', '--bind', `127.0.0.1:${port}`, '--anonymous', '--jwt-secret', SECRET, '--heartbeat-secs', '1'];
  if (staticDir) args.push('--static-dir', staticDir);
  if (redis) args.push('--redis', redis);
  const child = spawn(bin, [...args, ...extra], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, RUST_LOG: 'warn' } });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/healthz`)).ok, `the hub on ${url} (${stderr})`);
  return {
    url,
    port,
    child,
    stop: () => stopChild(child),
  };
}

function stopChild(child, signal = 'SIGTERM') {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill(signal);
  });
}

/** A publisher token for the hub. */
export function publisherToken() {
  return execFileSync(HUB_BIN, ['token', '--secret', SECRET, '--publish', '*', '--ttl-secs', '3600']).toString().trim();
}

/** POSTs an invalidation to the hub; resolves to the event id. */
export async function invalidate(hubUrl, token, body) {
  const res = await fetch(`${hubUrl}/invalidate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`invalidate answered ${res.status}: ${await res.text()}`);
  return (await res.json()).id;
}

/** The value of one metric on the hub's /metrics. */
export async function metric(hubUrl, name) {
  const text = await (await fetch(`${hubUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').pop()) : undefined;
}

/** Starts a real redis-server on a free port; `kill()` is kill -9. */
export async function startRedis(port) {
  port ??= await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await waitFor(
    () => new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
      socket.on('data', (d) => { socket.destroy(); resolve(d.toString().startsWith('+PONG')); });
      socket.on('error', () => resolve(false));
    }),
    `redis-server on port ${port}`,
  );
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill: () => stopChild(child, 'SIGKILL'),
    stop: () => stopChild(child),
  };
}
