// The hub with an EventSource client nobody here wrote: the `eventsource` npm package.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { EventSource } from 'eventsource';
import { startHub, publisherToken } from './support/hub.mjs';

let hub;
let token;
before(async () => {
  hub = await startHub();
  token = publisherToken();
});
after(() => hub?.stop());

async function publish(fields) {
  const res = await fetch(`${hub.url}/.well-known/mercure`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: new URLSearchParams(fields),
  });
  assert.equal(res.status, 200);
  return res.text();
}

test('the eventsource package receives updates, types, ids and multi-line data', async () => {
  const source = new EventSource(`${hub.url}/.well-known/mercure?match=${encodeURIComponent('/books/1')}`);
  try {
    await new Promise((resolve, reject) => {
      source.onopen = resolve;
      source.onerror = reject;
    });
    const received = [];
    const done = new Promise((resolve) => {
      source.onmessage = (e) => received.push(['message', e.data, e.lastEventId]);
      source.addEventListener('invalidate', (e) => {
        received.push(['invalidate', e.data, e.lastEventId]);
        resolve();
      });
    });
    const first = await publish({ topic: '/books/1', data: 'line one\nline two' });
    const second = await publish({ topic: '/books/1', type: 'invalidate', data: '{"v":1,"ns":"books","keys":["1"]}' });
    await publish({ topic: '/books/2', data: 'not for this subscriber' });
    await done;
    assert.deepEqual(received, [
      ['message', 'line one\nline two', first],
      ['invalidate', '{"v":1,"ns":"books","keys":["1"]}', second],
    ]);
  } finally {
    source.close();
  }
});

test('the eventsource package resumes with Last-Event-ID after a reconnect', async () => {
  const first = await publish({ topic: '/books/3', data: 'a' });
  const second = await publish({ topic: '/books/3', data: 'b' });
  const url = new URL(`${hub.url}/.well-known/mercure`);
  url.searchParams.set('match', '/books/3');
  url.searchParams.set('last_event_id', first);
  const source = new EventSource(url);
  try {
    const event = await new Promise((resolve, reject) => {
      source.onmessage = resolve;
      source.onerror = reject;
    });
    assert.deepEqual([event.data, event.lastEventId], ['b', second]);
  } finally {
    source.close();
  }
});
