//! The subscriber contract shared by the hub's SSE client and the Redis floor, and the task
//! that runs one subscription: connect, say "subscribed", record events until all arrived or
//! the case stops.

use crate::error::BenchError;
use crate::recorder::Recorder;
use std::future::Future;
use tokio::sync::{oneshot, watch};

/// One open subscription.
pub trait Subscriber: Sized + Send + 'static {
    /// Connects to 127.0.0.1:`port` and returns once the subscription is in place (events
    /// published from then on are delivered).
    fn connect(port: u16) -> impl Future<Output = Result<Self, BenchError>> + Send;

    /// Reads once (waiting for data), calling `on_payload` for each complete event.
    /// `Ok(false)` when the peer closed the stream.
    fn read_events(
        &mut self,
        on_payload: &mut (dyn FnMut(&[u8]) + Send),
    ) -> impl Future<Output = Result<bool, BenchError>> + Send;
}

/// What one subscription ends with.
#[derive(Debug)]
pub struct Outcome {
    /// Its receipts.
    pub recorder: Recorder,
    /// Why it ended early, if it did (closed stream, protocol error).
    pub error: Option<BenchError>,
}

/// Runs one subscription: `ready` gets the result of connecting; then events are recorded
/// until all arrived, the stream ends, or `stop` turns true.
pub async fn run<S: Subscriber>(
    port: u16,
    mut recorder: Recorder,
    ready: oneshot::Sender<Result<(), BenchError>>,
    mut stop: watch::Receiver<bool>,
) -> Outcome {
    let mut subscriber = match S::connect(port).await {
        Ok(s) => s,
        Err(e) => {
            let _ = ready.send(Err(e));
            return Outcome {
                recorder,
                error: None,
            };
        }
    };
    let _ = ready.send(Ok(()));
    let mut error = None;
    while !recorder.complete() && !*stop.borrow() {
        let mut record = |payload: &[u8]| recorder.record(payload);
        tokio::select! {
            _ = stop.changed() => break,
            read = subscriber.read_events(&mut record) => match read {
                Ok(true) => {}
                Ok(false) => {
                    error = Some(BenchError::Protocol("the stream ended early".into()));
                    break;
                }
                Err(e) => {
                    error = Some(e);
                    break;
                }
            },
        }
    }
    Outcome { recorder, error }
}
