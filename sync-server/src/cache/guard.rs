//! The "caching in progress" guard (coherence rule 3, on the server): a value loaded before an
//! invalidation of its key, of one of its tags, or of its whole namespace is returned to its
//! caller but not stored after that invalidation.
//!
//! Every write and invalidation first takes the next number of the namespace's sequence
//! (`INCR <ns>:seq`) and stamps it on what it invalidates: `<ns>:inv:key:<key>` (`set`,
//! `set_many`, `set_with_tags`, `delete`, `write`), `<ns>:inv:tag:<tag>` (`invalidate_tags`),
//! or `<ns>:inv:all` (patterns, `clear_namespace`, `bump_version`). An invalidation of every
//! namespace at once (`clear_all`, `invalidate_pattern_everywhere`) stamps
//! `:every-namespace:inv` from a sequence of its own, before it looks for what to remove: the
//! namespaces it would find are only those holding keys, and a load may be under way in any
//! other. A fill (`get_or_set`, early refresh, the response cache) reads both sequences before
//! it loads (its [`Ticket`]) and stores with a Lua script that checks, atomically with the
//! `SET`, that no stamp of its key, its tags, its namespace or every namespace is newer than
//! the ticket.
//!
//! Stamps expire after twice the guard window, `max(lock_ttl, 60 s)`, and a fill whose load
//! took longer than the window is not stored, so an expired stamp never lets an old value in.

use super::keys;
use super::redis_cache::{ttl_ms, RedisCache};
use redis::RedisError;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

/// Sets an entry `KEYS[1]` (`ARGV[1]`, for `ARGV[2]` ms; 0: no expiry) in its tag sets
/// (`KEYS[3..=2+ARGV[3]]`), recording them in its tag index `KEYS[2]`, unless the stamp of
/// every namespace right after them is newer than the ticket `ARGV[5]`, or one of the stamps
/// after that is newer than the ticket `ARGV[4]` (no ticket: no check).
///
/// The entry leaves the sets of its previous tags that it no longer has. Each set it joins
/// first drops those of two random members that are gone (expired, evicted, unlinked by a
/// pattern), so a set holds about twice its live members at most. A tag set lives as long as
/// its longest-lived member: a member without expiry makes it persistent, a new set expires
/// with its first member, an existing one is only ever extended (`GT` never puts an expiry on
/// a persistent set). The index lives as long as the entry.
static STORE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"local entry, index = KEYS[1], KEYS[2]
local ttl = tonumber(ARGV[2])
local ntags = tonumber(ARGV[3])
if ARGV[4] then
  local everywhere = tonumber(redis.call('GET', KEYS[3 + ntags]))
  if everywhere and everywhere > tonumber(ARGV[5]) then
    return 0
  end
  local ticket = tonumber(ARGV[4])
  for i = 4 + ntags, #KEYS do
    local stamp = tonumber(redis.call('GET', KEYS[i]))
    if stamp and stamp > ticket then
      return 0
    end
  end
end
local tagged = {}
for i = 3, 2 + ntags do
  tagged[KEYS[i]] = true
end
for _, set in ipairs(redis.call('SMEMBERS', index)) do
  if not tagged[set] then
    redis.call('SREM', set, entry)
  end
end
redis.call('DEL', index)
if ttl > 0 then
  redis.call('SET', entry, ARGV[1], 'PX', ttl)
else
  redis.call('SET', entry, ARGV[1])
end
for i = 3, 2 + ntags do
  local set = KEYS[i]
  for _, member in ipairs(redis.call('SRANDMEMBER', set, 2)) do
    if member ~= entry and redis.call('EXISTS', member) == 0 then
      redis.call('SREM', set, member)
    end
  end
  local fresh = redis.call('EXISTS', set) == 0
  redis.call('SADD', set, entry)
  if ttl == 0 then
    redis.call('PERSIST', set)
  elseif fresh then
    redis.call('PEXPIRE', set, ttl)
  else
    redis.call('PEXPIRE', set, ttl, 'GT')
  end
  redis.call('SADD', index, set)
end
if ntags > 0 and ttl > 0 then
  redis.call('PEXPIRE', index, ttl)
end
return 1",
    )
});

/// Takes the next number of the sequence `KEYS[1]` and stamps it on the other keys for
/// `ARGV[1]` ms.
static STAMP: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"local n = redis.call('INCR', KEYS[1])
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], n, 'PX', ARGV[1])
end
return n",
    )
});

/// Where the sequences stood when a load began.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket {
    /// The namespace's sequence.
    seq: u64,
    /// The sequence of invalidations of every namespace.
    everywhere: u64,
    started: Instant,
}

impl Ticket {
    /// A ticket for a load beginning now, with the namespace's sequence and that of every
    /// namespace as read (absent: 0).
    pub(crate) fn new(seq: Option<u64>, everywhere: Option<u64>) -> Self {
        Self {
            seq: seq.unwrap_or(0),
            everywhere: everywhere.unwrap_or(0),
            started: Instant::now(),
        }
    }

    /// For a write that took this ticket, then stamped its key with `stamp`: a ticket at its
    /// own stamp, if nothing else took a number of the sequence in between (another write or
    /// invalidation in the namespace, which may have changed the same key).
    pub(crate) fn at_own_stamp(self, stamp: u64) -> Option<Self> {
        (stamp == self.seq + 1).then_some(Self { seq: stamp, ..self })
    }
}

/// What an invalidation stamps.
pub(crate) enum Stamp<'a> {
    /// These keys.
    Keys(&'a [&'a str]),
    /// These tags.
    Tags(&'a [&'a str]),
    /// The whole namespace.
    All,
}

impl RedisCache {
    /// Fills whose load took longer are not stored; stamps live twice as long.
    fn guard_window(&self) -> Duration {
        self.shared.options.lock_ttl.max(Duration::from_secs(60))
    }

    /// A ticket for a load beginning now; `None` when Redis failed (logged and counted; then
    /// nothing is stored).
    pub(crate) async fn ticket(&self) -> Option<Ticket> {
        let seqs: Result<(Option<u64>, Option<u64>), RedisError> = redis::pipe()
            .get(keys::seq_key(&self.namespace))
            .get(keys::EVERYWHERE_SEQ)
            .query_async(&mut self.conn())
            .await;
        match seqs {
            Ok((seq, everywhere)) => Some(Ticket::new(seq, everywhere)),
            Err(e) => {
                self.failed("ticket", &e);
                None
            }
        }
    }

    /// Stamps what an invalidation or a write is about to change, so fills that began before
    /// are not stored. Answers the stamp's number. A failure is logged and counted (the change
    /// itself then fails too, most likely).
    pub(crate) async fn stamp(&self, what: Stamp<'_>) -> Option<u64> {
        let ns = &self.namespace;
        let mut invocation = STAMP.prepare_invoke();
        invocation.key(keys::seq_key(ns));
        match what {
            Stamp::Keys(list) => list.iter().for_each(|k| {
                invocation.key(keys::key_stamp(ns, k));
            }),
            Stamp::Tags(list) => list.iter().for_each(|t| {
                invocation.key(keys::tag_stamp(ns, t));
            }),
            Stamp::All => {
                invocation.key(keys::all_stamp(ns));
            }
        }
        invocation.arg(ttl_ms(self.guard_window() * 2));
        match invocation.invoke_async::<u64>(&mut self.conn()).await {
            Ok(n) => Some(n),
            Err(e) => {
                self.failed("stamp", &e);
                None
            }
        }
    }

    /// Stamps every namespace at once, before an invalidation of all of them looks for what
    /// to remove. Unlike [`RedisCache::stamp`], a failure fails the invalidation: without
    /// the stamp, a load in a namespace the invalidation does not find could store a value
    /// from before it.
    pub(crate) async fn stamp_everywhere(&self) -> Result<(), RedisError> {
        STAMP
            .key(keys::EVERYWHERE_SEQ)
            .key(keys::EVERYWHERE_STAMP)
            .arg(ttl_ms(self.guard_window() * 2))
            .invoke_async::<u64>(&mut self.conn())
            .await
            .map(drop)
    }

    /// Stores a frame under `entry` (the storage key of `key`) with its tag sets, atomically.
    /// With a `guard`, only if nothing stamped `key`, one of `tags` or the namespace since the
    /// ticket was taken. Answers whether it stored.
    pub(crate) async fn store_entry(
        &self,
        entry: &str,
        key: &str,
        frame: &[u8],
        ttl: Option<Duration>,
        tags: &[&str],
        guard: Option<&Ticket>,
    ) -> Result<bool, RedisError> {
        let ns = &self.namespace;
        let mut invocation = STORE.prepare_invoke();
        invocation.key(entry);
        invocation.key(keys::entry_tags_key(ns, entry));
        for tag in tags {
            invocation.key(keys::tag_key(ns, tag));
        }
        invocation
            .arg(frame)
            .arg(ttl.map_or(0, ttl_ms))
            .arg(tags.len());
        if let Some(ticket) = guard {
            if ticket.started.elapsed() > self.guard_window() {
                return Ok(false);
            }
            invocation.key(keys::EVERYWHERE_STAMP);
            invocation.key(keys::key_stamp(ns, key));
            invocation.key(keys::all_stamp(ns));
            for tag in tags {
                invocation.key(keys::tag_stamp(ns, tag));
            }
            invocation.arg(ticket.seq).arg(ticket.everywhere);
        }
        let stored: u8 = invocation.invoke_async(&mut self.conn()).await?;
        Ok(stored == 1)
    }
}
