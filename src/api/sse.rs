//! The live stream: every committed [`Change`] as Server-Sent Events, so the dashboard appends points without reloading.
//!
//! Events, in this order for each commit:
//! - `run_deleted` `{"name"}` for each run a user deleted;
//! - `run` `{"name"}` for each run the commit created or changed (its record, status, the
//!   user's edits): the client refetches the run list;
//! - `purge` `{"run", "tag", "step"}` for each series whose points at or after `step` were
//!   dropped (a restart): the client drops them before appending;
//! - `scalars` `{"run", "tag", "points": [[step, wall_time, value], ...]}` per series;
//! - `series` `{"run", "tag", "kind"}` for series that got non-scalar data (the client refetches);
//!   kind `hparams` when a run's hyperparameters were set (the run list carries them);
//! - `projector` `{"name"}` for each run whose projector config or embeddings changed (the
//!   client refetches the embeddings).
//!
//! A subscriber that falls behind the store's broadcast buffer gets one `resync` event
//! `{"missed": n}` (it reloads what it shows) and carries on. The stream ends when the store's
//! change channel closes; a comment every [`KEEP_ALIVE`] keeps proxies from timing it out.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use crate::types::Kind;
use axum::extract::{Extension, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use serde::Serialize;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::watch;

use super::AppState;
use super::wire::{ScalarsOut, wire_point};
use crate::store::Change;

/// How often an idle stream sends a comment.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The signal that ends every live stream (see [`super::RouterOptions::shutdown`]).
#[derive(Debug, Clone)]
pub struct StreamShutdown(pub watch::Receiver<bool>);

impl StreamShutdown {
    /// Resolves once the signal is `true` or its sender is gone.
    async fn wait(mut self) {
        // An error means the sender is gone: nobody can ask for more, so stop too.
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

/// `GET /api/v1/stream`. Subscribes before answering, so nothing committed after the response
/// starts is missed; ends with the store's change channel or the [`StreamShutdown`] signal.
pub async fn stream(
    State(state): State<AppState>,
    shutdown: Option<Extension<StreamShutdown>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let changes = change_events(state.store.subscribe());
    let stop = async move {
        match shutdown {
            Some(Extension(signal)) => signal.wait().await,
            None => std::future::pending().await,
        }
    };
    Sse::new(changes.take_until(stop).map(Ok))
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"))
}

/// The events of every change `rx` receives, a `resync` where it lagged; ends when the
/// channel closes.
pub fn change_events(rx: broadcast::Receiver<Arc<Change>>) -> impl Stream<Item = Event> {
    futures_util::stream::unfold((rx, VecDeque::new()), |(mut rx, mut pending)| async move {
        loop {
            if let Some(event) = pending.pop_front() {
                return Some((event, (rx, pending)));
            }
            match rx.recv().await {
                Ok(change) => pending.extend(events_of(&change)),
                Err(RecvError::Lagged(missed)) => {
                    pending.extend(event("resync", &Resync { missed }));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    })
}

#[derive(Serialize)]
struct Resync {
    missed: u64,
}

#[derive(Serialize)]
struct RunEvent<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct PurgeEvent<'a> {
    run: &'a str,
    tag: &'a str,
    step: i64,
}

#[derive(Serialize)]
struct SeriesEvent<'a> {
    run: &'a str,
    tag: &'a str,
    kind: Kind,
}

/// One named event with a JSON payload (None, logged, if it cannot be encoded).
fn event<T: Serialize>(name: &str, data: &T) -> Option<Event> {
    match Event::default().event(name).json_data(data) {
        Ok(e) => Some(e),
        Err(e) => {
            tracing::warn!(event = name, error = %e, "an SSE event could not be encoded: skipped");
            None
        }
    }
}

/// The events that describe one commit, in the order a client applies them.
pub fn events_of(change: &Change) -> Vec<Event> {
    // A new run, or a run whose record changed (hyperparameters): the client refetches runs.
    let runs = change
        .new_runs
        .iter()
        .chain(
            change
                .updated_runs
                .iter()
                .filter(|r| !change.new_runs.contains(r)),
        )
        .filter_map(|name| event("run", &RunEvent { name }));
    let purges = change.purged.iter().filter_map(|(run, tag, step)| {
        event(
            "purge",
            &PurgeEvent {
                run,
                tag,
                step: *step,
            },
        )
    });
    let scalars = change.scalars.iter().filter_map(|(run, tag, points)| {
        let body = ScalarsOut {
            run: run.clone(),
            tag: tag.clone(),
            points: points.iter().map(wire_point).collect(),
            x: None,
        };
        event("scalars", &body)
    });
    let other = change.other.iter().filter_map(|(run, tag, kind)| {
        event(
            "series",
            &SeriesEvent {
                run,
                tag,
                kind: *kind,
            },
        )
    });
    let deleted = change
        .deleted_runs
        .iter()
        .filter_map(|name| event("run_deleted", &RunEvent { name }));
    let projector = change
        .projector
        .iter()
        .filter_map(|name| event("projector", &RunEvent { name }));
    deleted
        .chain(runs)
        .chain(purges)
        .chain(scalars)
        .chain(other)
        .chain(projector)
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use axum::response::IntoResponse;
    use runboard_sdk::event::Value;
    use tower::ServiceExt;

    use super::super::testing::fixture;
    use super::*;
    use crate::store::{Batch, Item, Point};

    const DEADLINE: Duration = Duration::from_secs(10);

    /// Reads the body until `done` holds for what was read (or the deadline passes, or the
    /// body ends); returns the text.
    async fn read_until(body: Body, done: impl Fn(&str) -> bool) -> String {
        let mut stream = body.into_data_stream();
        let mut text = String::new();
        let read = async {
            while !done(&text) {
                match stream.next().await {
                    Some(Ok(chunk)) => text.push_str(&String::from_utf8_lossy(&chunk)),
                    Some(Err(e)) => panic!("stream failed: {e}; got {text:?}"),
                    None => break,
                }
            }
        };
        tokio::time::timeout(DEADLINE, read)
            .await
            .unwrap_or_else(|_| panic!("not done within {DEADLINE:?}; got {text:?}"));
        text
    }

    /// Whether `text` holds a whole event named `name`.
    fn has_event(text: &str, name: &str) -> bool {
        let head = format!("event: {name}\n");
        text.find(&head).is_some_and(|i| text[i..].contains("\n\n"))
    }

    /// The data of the first event named `name` in `text`.
    fn data_of(text: &str, name: &str) -> serde_json::Value {
        let i = text.find(&format!("event: {name}\n")).expect("the event");
        let data = text[i..]
            .lines()
            .find_map(|l| l.strip_prefix("data: "))
            .expect("a data line");
        serde_json::from_str(data).expect("JSON data")
    }

    fn sse_body(rx: broadcast::Receiver<Arc<Change>>) -> Body {
        Sse::new(change_events(rx).map(Ok::<_, Infallible>))
            .into_response()
            .into_body()
    }

    #[tokio::test]
    async fn a_committed_batch_arrives_as_a_scalars_event() {
        let f = fixture();
        let req = Request::get("/api/v1/stream")
            .header(header::HOST, "localhost")
            .body(Body::empty())
            .expect("request");
        let res = f.router.clone().oneshot(req).await.expect("infallible");
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[header::CONTENT_TYPE], "text/event-stream");
        let items = vec![Item::Value {
            tag: "live".into(),
            step: 7,
            wall_time: 9000.5,
            value: Value::Scalar(f64::NAN),
        }];
        f.state
            .store
            .submit(Batch {
                run: crate::types::RunName::new("new-run").unwrap(),
                items,
                progress: None,
                dedup: None,
            })
            .expect("submit");
        let text = read_until(res.into_body(), |t| has_event(t, "scalars")).await;
        let run_at = text.find("event: run\n").expect("a run event");
        assert!(
            run_at < text.find("event: scalars").expect("scalars"),
            "{text}"
        );
        assert_eq!(
            data_of(&text, "run"),
            serde_json::json!({"name": "new-run"})
        );
        assert_eq!(
            data_of(&text, "scalars"),
            serde_json::json!({"run": "new-run", "tag": "live", "points": [[7, 9000.5, "NaN"]]})
        );
    }

    #[tokio::test]
    async fn the_shutdown_signal_ends_open_streams() {
        let f = fixture();
        let (stop, signal) = watch::channel(false);
        let options = crate::api::RouterOptions {
            shutdown: Some(signal),
            ..crate::api::RouterOptions::default()
        };
        let router = crate::api::router_with(f.state.clone(), options);
        let req = Request::get("/api/v1/stream")
            .header(header::HOST, "localhost")
            .body(Body::empty())
            .expect("request");
        let res = router.oneshot(req).await.expect("infallible");
        stop.send(true).expect("a receiver");
        // Ends (instead of timing out) although the store is still open.
        let text = read_until(res.into_body(), |_| false).await;
        assert!(!text.contains("event:"), "{text}");
    }

    fn change(tag: &str) -> Arc<Change> {
        Arc::new(Change {
            scalars: vec![(
                "r".into(),
                tag.into(),
                vec![Point {
                    step: 1,
                    wall_time: 2.0,
                    value: 3.0,
                }],
            )],
            ..Change::default()
        })
    }

    #[tokio::test]
    async fn a_lagging_subscriber_gets_resync_and_carries_on() {
        let (tx, rx) = broadcast::channel(1);
        for tag in ["a", "b", "c"] {
            tx.send(change(tag)).expect("a receiver");
        }
        drop(tx); // the stream ends once it has delivered what is buffered
        let text = read_until(sse_body(rx), |_| false).await;
        assert_eq!(data_of(&text, "resync"), serde_json::json!({"missed": 2}));
        assert_eq!(data_of(&text, "scalars")["tag"], "c");
        assert!(text.find("resync") < text.find("scalars"), "{text}");
    }

    #[tokio::test]
    async fn a_change_becomes_events_in_apply_order() {
        let (tx, rx) = broadcast::channel(4);
        tx.send(Arc::new(Change {
            scalars: vec![("r".into(), "t".into(), vec![])],
            other: vec![("r".into(), "h".into(), Kind::Histogram)],
            purged: vec![("r".into(), "t".into(), 5)],
            new_runs: vec!["r".into()],
            // New hyperparameters of an older run: a `run` event too; of the new run: no second.
            updated_runs: vec!["old".into(), "r".into()],
            deleted_runs: vec!["gone".into()],
            projector: vec!["r".into()],
        }))
        .expect("a receiver");
        drop(tx);
        let text = read_until(sse_body(rx), |_| false).await;
        let names: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("event: "))
            .collect();
        assert_eq!(
            names,
            [
                "run_deleted",
                "run",
                "run",
                "purge",
                "scalars",
                "series",
                "projector"
            ]
        );
        assert_eq!(
            data_of(&text, "projector"),
            serde_json::json!({"name": "r"})
        );
        assert_eq!(
            data_of(&text, "run_deleted"),
            serde_json::json!({"name": "gone"})
        );
        assert_eq!(
            data_of(&text, "purge"),
            serde_json::json!({"run": "r", "tag": "t", "step": 5})
        );
        assert_eq!(
            data_of(&text, "series"),
            serde_json::json!({"run": "r", "tag": "h", "kind": "histogram"})
        );
    }
}
