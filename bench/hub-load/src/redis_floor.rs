//! The floor: the same events through Redis PUBLISH straight to N SUBSCRIBE connections
//! (raw RESP over TCP, one task and one growable read buffer per connection).

use crate::error::BenchError;
use crate::process::loopback;
use crate::publisher::Publisher;
use crate::resp::{self, Value};
use crate::subscriber::Subscriber;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The channel of the floor.
pub const CHANNEL: &[u8] = b"bench";

/// Initial read buffer per connection (grows for larger replies).
const READ_BUFFER: usize = 1024;

/// Largest read buffer (a reply or a backlog of pushes larger than this is an error).
const MAX_READ_BUFFER: usize = 1 << 20;

/// A RESP connection with a read buffer.
#[derive(Debug)]
struct Connection {
    stream: TcpStream,
    buf: Vec<u8>,
    filled: usize,
}

impl Connection {
    async fn open(port: u16) -> Result<Self, BenchError> {
        let stream = TcpStream::connect(loopback(port))
            .await
            .map_err(BenchError::io(format!("connect to redis on port {port}")))?;
        stream
            .set_nodelay(true)
            .map_err(BenchError::io("set TCP_NODELAY"))?;
        Ok(Self {
            stream,
            buf: vec![0; READ_BUFFER],
            filled: 0,
        })
    }

    async fn send(&mut self, parts: &[&[u8]]) -> Result<(), BenchError> {
        self.stream
            .write_all(&resp::command(parts))
            .await
            .map_err(BenchError::io("send a redis command"))
    }

    /// Reads once; `Ok(false)` when redis closed the connection.
    async fn fill(&mut self) -> Result<bool, BenchError> {
        if self.filled == self.buf.len() {
            if self.buf.len() >= MAX_READ_BUFFER {
                return Err(BenchError::Protocol("redis reply larger than 1 MiB".into()));
            }
            self.buf.resize(self.buf.len() * 2, 0);
        }
        let n = self
            .stream
            .read(&mut self.buf[self.filled..])
            .await
            .map_err(BenchError::io("read from redis"))?;
        self.filled += n;
        Ok(n > 0)
    }

    /// Hands every complete value in the buffer to `each`, then keeps the incomplete rest.
    fn drain(
        &mut self,
        each: &mut (dyn FnMut(Value<'_>) -> Result<(), BenchError> + Send),
    ) -> Result<(), BenchError> {
        let mut at = 0;
        while let Some((value, used)) = resp::parse(&self.buf[at..self.filled])? {
            each(value)?;
            at += used;
        }
        self.buf.copy_within(at..self.filled, 0);
        self.filled -= at;
        Ok(())
    }

    /// Reads until one complete value arrived and hands it to `each`.
    async fn one(
        &mut self,
        each: &mut (dyn FnMut(Value<'_>) -> Result<(), BenchError> + Send),
    ) -> Result<(), BenchError> {
        loop {
            if let Some((value, used)) = resp::parse(&self.buf[..self.filled])? {
                each(value)?;
                self.buf.copy_within(used..self.filled, 0);
                self.filled -= used;
                return Ok(());
            }
            if !self.fill().await? {
                return Err(BenchError::Protocol("redis closed the connection".into()));
            }
        }
    }
}

fn unexpected(what: &str, value: &Value<'_>) -> BenchError {
    BenchError::Protocol(format!("{what}: unexpected reply {value:?}"))
}

/// A SUBSCRIBE connection on [`CHANNEL`].
#[derive(Debug)]
pub struct RedisSubscriber {
    connection: Connection,
}

impl Subscriber for RedisSubscriber {
    async fn connect(port: u16) -> Result<Self, BenchError> {
        let mut connection = Connection::open(port).await?;
        connection.send(&[b"SUBSCRIBE", CHANNEL]).await?;
        connection
            .one(&mut |value| match &value {
                Value::Array(Some(items))
                    if items.first() == Some(&Value::Bulk(Some(b"subscribe"))) =>
                {
                    Ok(())
                }
                _ => Err(unexpected("SUBSCRIBE", &value)),
            })
            .await?;
        Ok(Self { connection })
    }

    async fn read_events(
        &mut self,
        on_payload: &mut (dyn FnMut(&[u8]) + Send),
    ) -> Result<bool, BenchError> {
        if !self.connection.fill().await? {
            return Ok(false);
        }
        self.connection.drain(&mut |value| match &value {
            Value::Array(Some(items)) => match items.as_slice() {
                [Value::Bulk(Some(b"message")), _, Value::Bulk(Some(payload))] => {
                    on_payload(payload);
                    Ok(())
                }
                _ => Err(unexpected("message", &value)),
            },
            _ => Err(unexpected("message", &value)),
        })?;
        Ok(true)
    }
}

/// A connection sending PUBLISH on [`CHANNEL`].
#[derive(Debug)]
pub struct RedisPublisher {
    connection: Connection,
}

impl Publisher for RedisPublisher {
    async fn connect(port: u16) -> Result<Self, BenchError> {
        Ok(Self {
            connection: Connection::open(port).await?,
        })
    }

    async fn publish(&mut self, payload: &str) -> Result<(), BenchError> {
        self.connection
            .send(&[b"PUBLISH", CHANNEL, payload.as_bytes()])
            .await?;
        self.connection
            .one(&mut |value| match value {
                Value::Int(_) => Ok(()),
                other => Err(unexpected("PUBLISH", &other)),
            })
            .await
    }
}
