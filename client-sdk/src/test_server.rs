//! A tiny ingest server on loopback for tests: stores batches, refuses what is too large, answers 503 or 409 on request.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use prost::Message;
use runboard_proto::runboard::ingest as pb;

/// What the fake server saw.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    /// Batches stored, in the order they arrived.
    pub(crate) stored: Vec<pb::Batch>,
    /// Body sizes of the batches stored.
    pub(crate) sizes: Vec<usize>,
    /// Requests refused as too large.
    pub(crate) too_large: usize,
    /// Requests answered 503.
    pub(crate) unavailable: usize,
}

/// A tiny ingest server on loopback, one request per connection. Bodies over `limit` get
/// 413 (before the body when the client sent `Expect: 100-continue`, as hyper does); the
/// first `unavailable` requests get 503; a batch with a point tagged `refuse` gets 409; a
/// key seen before is a duplicate; the rest is stored and acknowledged.
pub(crate) struct FakeServer {
    pub(crate) url: String,
    seen: Arc<Mutex<Seen>>,
}

impl FakeServer {
    pub(crate) fn start(limit: usize, unavailable: usize) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Seen::default()));
        let shared = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { break };
                let _ = answer(stream, limit, unavailable, &shared);
            }
        });
        FakeServer { url, seen }
    }

    pub(crate) fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap()
    }

    /// Every stored run event's JSON, in arrival order.
    pub(crate) fn run_events(&self) -> Vec<String> {
        self.seen()
            .stored
            .iter()
            .flat_map(|b| &b.points)
            .filter_map(|p| match &p.value {
                Some(pb::point::Value::RunEvent(json)) => Some(json.clone()),
                _ => None,
            })
            .collect()
    }

    /// Every stored point's (tag, step), in arrival order.
    pub(crate) fn points(&self) -> Vec<(String, i64)> {
        self.seen()
            .stored
            .iter()
            .flat_map(|b| b.points.iter().map(|p| (p.tag.clone(), p.step)))
            .collect()
    }
}

fn answer(
    mut stream: TcpStream,
    limit: usize,
    unavailable: usize,
    seen: &Mutex<Seen>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let (mut len, mut expect) = (0usize, false);
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end().to_ascii_lowercase();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("content-length:") {
            len = v.trim().parse().unwrap();
        }
        expect |= line.starts_with("expect: 100-continue");
    }
    let mut respond = |status: &str, body: &[u8]| -> std::io::Result<()> {
        write!(
            stream,
            "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        )?;
        stream.write_all(body)
    };
    if len > limit && expect {
        seen.lock().unwrap().too_large += 1;
        return respond("413 Payload Too Large", b"too large");
    }
    if expect {
        reader
            .get_mut()
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    let mut seen = seen.lock().unwrap();
    if len > limit {
        seen.too_large += 1;
        return respond("413 Payload Too Large", b"too large");
    }
    if seen.unavailable < unavailable {
        seen.unavailable += 1;
        return respond("503 Service Unavailable", b"shutting down");
    }
    let batch = pb::Batch::decode(body.as_slice()).unwrap();
    if batch.points.iter().any(|p| p.tag == "refuse") {
        return respond("409 Conflict", br#"{"code":"conflict","message":"no"}"#);
    }
    let duplicate = seen
        .stored
        .iter()
        .any(|b| (&b.session, b.seq) == (&batch.session, batch.seq));
    let ack = pb::Ack {
        seq: batch.seq,
        duplicate,
        points: if duplicate {
            0
        } else {
            batch.points.len() as u64
        },
    };
    if !duplicate {
        seen.sizes.push(len);
        seen.stored.push(batch);
    }
    respond("200 OK", &ack.encode_to_vec())
}
