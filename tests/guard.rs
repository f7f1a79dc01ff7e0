//! The guard end to end: the real `runboard serve` on loopback, spoken to over raw sockets (to set `Host`, `Origin` and content types as a hostile page or a slow client would).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)] // each test binary uses part of the shared helpers
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use common::Server;
use runboard_proto::prost::Message;
use runboard_proto::runboard::ingest as pb;
use serde_json::Value as Json;

/// One HTTP response, read whole.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Json {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            panic!(
                "HTTP {}: not JSON: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The `code` of a JSON error body.
    fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }
}

/// `127.0.0.1:<port>` of a base URL such as `http://0.0.0.0:41234`.
fn loopback(base: &str) -> String {
    let port = base.rsplit(':').next().unwrap();
    format!("127.0.0.1:{port}")
}

/// Writes one request to `addr` (`Host: addr` unless `headers` names one; `Connection: close`).
fn send_request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    stream
}

/// Reads a response head: the status and headers.
fn read_head(reader: &mut impl BufRead) -> (u16, Vec<(String, String)>) {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status = line
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("a status line, got {line:?}"))
        .parse()
        .unwrap();
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':').unwrap();
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    (status, headers)
}

/// One request and its whole response.
fn request(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let stream = send_request(addr, method, path, headers, body);
    let mut reader = BufReader::new(stream);
    let (status, headers) = read_head(&mut reader);
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).unwrap();
            let n = usize::from_str_radix(size.trim(), 16).unwrap();
            let mut chunk = vec![0; n + 2];
            reader.read_exact(&mut chunk).unwrap();
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else {
        reader.read_to_end(&mut body).unwrap();
    }
    Reply {
        status,
        headers,
        body,
    }
}

fn get(addr: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
    request(addr, "GET", path, headers, b"")
}

/// A live stream's response head, and the reader to follow its events with.
fn open_stream(addr: &str, headers: &[(&str, &str)]) -> (u16, BufReader<TcpStream>) {
    let stream = send_request(addr, "GET", "/api/v1/stream", headers, b"");
    let mut reader = BufReader::new(stream);
    let (status, _) = read_head(&mut reader);
    (status, reader)
}

/// Reads a live stream until a line contains `want`.
fn wait_for_event(reader: &mut BufReader<TcpStream>, want: &str) {
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line).unwrap();
        assert!(n > 0, "the stream ended before {want:?}");
        if line.contains(want) {
            return;
        }
    }
}

fn start(dir: &Path, extra: &[&str]) -> (Server, String, std::sync::Arc<std::sync::Mutex<String>>) {
    let logdir = dir.join("logs");
    std::fs::create_dir_all(&logdir).unwrap();
    let (child, base, log) = common::spawn_runboard_with(&logdir, &dir.join("db.sqlite"), extra);
    let addr = loopback(&base);
    (Server { child, base }, addr, log)
}

/// Encodes a one-point batch for a run.
type BatchOf = fn(&str) -> Vec<u8>;

fn json_batch(run: &str) -> Vec<u8> {
    format!(
        r#"{{"run":"{run}","session":"{run}","seq":1,"points":[{{"tag":"loss","step":7,"scalar":0.25}}]}}"#
    )
    .into_bytes()
}

fn protobuf_batch(run: &str) -> Vec<u8> {
    pb::Batch {
        run: run.into(),
        session: run.into(),
        seq: 1,
        points: vec![pb::Point {
            tag: "loss".into(),
            step: 7,
            wall_time: 1000.0,
            value: Some(pb::point::Value::Scalar(0.25)),
        }],
    }
    .encode_to_vec()
}

fn run_names(addr: &str, headers: &[(&str, &str)]) -> Vec<String> {
    let reply = get(addr, "/api/v1/runs", headers);
    assert_eq!(reply.status, 200, "{reply:?}");
    reply
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn cross_origin_simple_requests_store_nothing_and_same_origin_writes_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, addr, _log) = start(dir.path(), &[]);
    let batches: [(&str, BatchOf); 2] = [("json", json_batch), ("protobuf", protobuf_batch)];
    for (encoding, batch) in batches {
        for content_type in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=----x",
        ] {
            let run = format!("attack-{encoding}-{}", content_type.len());
            // What a page on another site sends with fetch(no-cors) or a form, with and
            // without the Origin an old browser might leave out.
            let origins: [&[(&str, &str)]; 2] = [&[("Origin", "http://evil.example")], &[]];
            for origin in origins {
                let mut headers = vec![("Content-Type", content_type)];
                headers.extend_from_slice(origin);
                let reply = request(&addr, "POST", "/api/v1/ingest", &headers, &batch(&run));
                assert!(
                    reply.status == 403 || reply.status == 415,
                    "{encoding} as {content_type} from {origin:?}: {reply:?}"
                );
                assert_eq!(
                    reply.code(),
                    if origin.is_empty() {
                        "unsupported_media_type"
                    } else {
                        "forbidden_origin"
                    }
                );
            }
            let scalars = get(&addr, &format!("/api/v1/scalars?run={run}&tag=loss"), &[]);
            assert_eq!(scalars.status, 404, "{run} stored: {scalars:?}");
        }
    }
    // Even with the right content type, a foreign page may not write.
    let reply = request(
        &addr,
        "POST",
        "/api/v1/ingest",
        &[
            ("Content-Type", "application/json"),
            ("Origin", "http://evil.example"),
        ],
        &json_batch("attack-exact-type"),
    );
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (403, "forbidden_origin")
    );
    assert_eq!(
        run_names(&addr, &[]),
        Vec::<String>::new(),
        "nothing stored"
    );

    // The same batches from a program (no Origin, the right type) are stored.
    for (content_type, body) in [
        ("application/json", json_batch("json-run")),
        ("application/x-protobuf", protobuf_batch("protobuf-run")),
    ] {
        let reply = request(
            &addr,
            "POST",
            "/api/v1/ingest",
            &[("Content-Type", content_type)],
            &body,
        );
        assert_eq!(reply.status, 200, "{content_type}: {reply:?}");
    }
    let mut runs = run_names(&addr, &[]);
    runs.sort();
    assert_eq!(runs, ["json-run", "protobuf-run"]);
    let scalars = get(&addr, "/api/v1/scalars?run=json-run&tag=loss", &[]).json();
    assert_eq!(scalars["points"][0][0], 7);
    assert_eq!(scalars["points"][0][2], 0.25);
}

#[test]
fn a_foreign_host_is_refused_on_every_route_family() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, addr, _log) = start(dir.path(), &[]);
    let paths = [
        "/api/v1/runs",
        "/data/runs",
        "/data/plugin/scalars/tags",
        "/api/v1/stream",
        "/metrics",
        "/",
        "/static/app.js",
        "/login",
    ];
    for path in paths {
        for host in ["evil.example", "evil.example:6006"] {
            let reply = get(&addr, path, &[("Host", host)]);
            assert_eq!(reply.status, 403, "{host} {path}: {reply:?}");
            assert_eq!(reply.code(), "forbidden_host", "{path}");
            assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
            let message = reply.json()["message"].as_str().unwrap().to_owned();
            assert!(message.contains("--allowed-host"), "{message}");
        }
    }
    // The same paths by loopback name and address are served.
    for host in [
        addr.clone(),
        "localhost".to_owned(),
        "[::1]:6006".to_owned(),
    ] {
        for path in paths {
            if path == "/api/v1/stream" {
                let (status, _) = open_stream(&addr, &[("Host", &host)]);
                assert_eq!(status, 200, "{host} {path}");
                continue;
            }
            let reply = get(&addr, path, &[("Host", &host)]);
            assert!(
                reply.status == 200 || (path == "/login" && reply.status == 303),
                "{host} {path}: {reply:?}"
            );
        }
    }
}

#[test]
fn allowed_hosts_are_served_and_others_still_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, addr, _log) = start(dir.path(), &["--allowed-host", "runs.example.org"]);
    assert_eq!(
        get(&addr, "/api/v1/runs", &[("Host", "runs.example.org:6006")]).status,
        200
    );
    assert_eq!(
        get(&addr, "/api/v1/runs", &[("Host", "example.org")]).status,
        403
    );
    // Bound to 127.0.0.1: other IP literals are not this server.
    assert_eq!(
        get(&addr, "/api/v1/runs", &[("Host", "10.1.2.3")]).status,
        403
    );
}

/// `--host 0.0.0.0 --token s3cret` (plus `extra`), its address on loopback and its log.
fn start_public(
    dir: &Path,
    extra: &[&str],
) -> (Server, String, std::sync::Arc<std::sync::Mutex<String>>) {
    let mut flags = vec!["--host", "0.0.0.0", "--token", "s3cret"];
    flags.extend_from_slice(extra);
    start(dir, &flags)
}

#[test]
fn beyond_loopback_reads_need_the_token_as_bearer_or_login_cookie() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, addr, log) = start_public(dir.path(), &[]);
    let bearer = ("Authorization", "Bearer s3cret");
    // Host 127.0.0.1 is an IP literal (cannot be rebound): served by a server on 0.0.0.0.
    for path in ["/api/v1/runs", "/data/runs", "/metrics"] {
        let reply = get(&addr, path, &[]);
        assert_eq!(
            (reply.status, reply.code().as_str()),
            (401, "unauthorized"),
            "{path}"
        );
        assert_eq!(
            get(&addr, path, &[bearer]).status,
            200,
            "{path} with the token"
        );
    }
    assert_eq!(open_stream(&addr, &[]).0, 401);
    assert_eq!(open_stream(&addr, &[bearer]).0, 200);
    let page = get(&addr, "/", &[("Accept", "text/html")]);
    assert_eq!(
        (page.status, page.header("location")),
        (303, Some("/login"))
    );
    let form = get(&addr, "/login", &[]);
    assert_eq!(form.status, 200);
    assert!(String::from_utf8_lossy(&form.body).contains("name=\"token\""));

    // The login form, posted from the page itself.
    let origin = format!("http://{addr}");
    let post_login = |token: &str| {
        request(
            &addr,
            "POST",
            "/login",
            &[
                ("Origin", &origin),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            format!("token={token}").as_bytes(),
        )
    };
    let wrong = post_login("nope");
    assert_eq!(wrong.status, 401);
    assert!(wrong.header("set-cookie").is_none());
    let right = post_login("s3cret");
    assert_eq!((right.status, right.header("location")), (303, Some("/")));
    let set_cookie = right.header("set-cookie").unwrap().to_owned();
    assert_eq!(
        set_cookie,
        "runboard_token=s3cret; HttpOnly; SameSite=Strict; Path=/"
    );
    let cookie = ("Cookie", set_cookie.split(';').next().unwrap());
    for path in [
        "/",
        "/api/v1/runs",
        "/data/runs",
        "/metrics",
        "/static/app.js",
    ] {
        assert_eq!(
            get(&addr, path, &[cookie]).status,
            200,
            "{path} with the cookie"
        );
    }
    assert_eq!(open_stream(&addr, &[cookie]).0, 200);

    // The start-up link logs in the same way, and leaves the URL.
    let text = log.lock().unwrap().clone();
    let serving = text.find("runboard serving").expect("the serving line");
    let link_at = text
        .find("/?token=s3cret")
        .expect("the login link is printed");
    assert!(
        serving < link_at,
        "the link comes after the serving line:\n{text}"
    );
    let port = addr.rsplit(':').next().unwrap();
    assert!(
        text.contains(&format!("http://127.0.0.1:{port}/?token=s3cret")),
        "{text}"
    );
    let link = get(&addr, "/?token=s3cret", &[]);
    assert_eq!((link.status, link.header("location")), (303, Some("/")));
    assert_eq!(link.header("set-cookie"), Some(set_cookie.as_str()));

    // Writes take the token as Bearer only.
    let json = ("Content-Type", "application/json");
    for headers in [vec![json], vec![json, cookie]] {
        let reply = request(&addr, "POST", "/api/v1/ingest", &headers, &json_batch("w"));
        assert_eq!(reply.status, 401, "{headers:?}");
    }
    let reply = request(
        &addr,
        "POST",
        "/api/v1/ingest",
        &[json, bearer],
        &json_batch("w"),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(run_names(&addr, &[bearer]), ["w"]);
    // Any IP literal may name a server bound to 0.0.0.0; names may not.
    assert_eq!(
        get(&addr, "/api/v1/runs", &[bearer, ("Host", "10.1.2.3:80")]).status,
        200
    );
    assert_eq!(
        get(&addr, "/api/v1/runs", &[bearer, ("Host", "evil.example")]).status,
        403
    );
}

#[test]
fn public_reads_open_reads_but_not_writes() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, addr, log) = start_public(dir.path(), &["--public-reads"]);
    for path in ["/api/v1/runs", "/data/runs", "/metrics", "/"] {
        assert_eq!(get(&addr, path, &[]).status, 200, "{path}");
    }
    assert_eq!(open_stream(&addr, &[]).0, 200);
    let json = ("Content-Type", "application/json");
    let reply = request(&addr, "POST", "/api/v1/ingest", &[json], &json_batch("w"));
    assert_eq!((reply.status, reply.code().as_str()), (401, "unauthorized"));
    let reply = request(
        &addr,
        "POST",
        "/api/v1/ingest",
        &[json, ("Authorization", "Bearer s3cret")],
        &json_batch("w"),
    );
    assert_eq!(reply.status, 200);
    assert!(
        !log.lock().unwrap().contains("?token="),
        "no login link when reads are public"
    );
}

/// Reads from `stream` until the server closes it; `Err` when the read timed out instead.
fn wait_closed(mut stream: TcpStream) -> Result<(), std::io::Error> {
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(_) => continue, // an error response before the close is fine
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

#[test]
fn slow_and_silent_clients_are_dropped_and_the_server_keeps_answering() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, addr, _log) = start(
        dir.path(),
        &[
            "--header-timeout",
            "1",
            "--body-timeout",
            "1",
            "--max-connections",
            "16",
        ],
    );
    // A dashboard's live stream, open all along: a response in progress is no slow request.
    let (status, mut live) = open_stream(&addr, &[]);
    assert_eq!(status, 200);

    let started = Instant::now();
    let mut sockets = Vec::new();
    for i in 0..50 {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        if i % 5 != 0 {
            // A request head that never ends; every fifth socket sends nothing at all.
            s.write_all(
                format!("GET /api/v1/runs HTTP/1.1\r\nHost: {addr}\r\nX-Slow: ").as_bytes(),
            )
            .unwrap();
        }
        sockets.push(s);
    }
    let waiters: Vec<_> = sockets
        .into_iter()
        .map(|s| std::thread::spawn(move || (wait_closed(s), started.elapsed())))
        .collect();
    let mut last = Duration::ZERO;
    for (i, w) in waiters.into_iter().enumerate() {
        let (closed, at) = w.join().unwrap();
        closed.unwrap_or_else(|e| panic!("socket {i} still open after {at:?}: {e}"));
        last = last.max(at);
    }
    // 50 sockets, 15 free slots (the stream holds one), 1 s each: several rounds, but bounded.
    assert!(
        last < Duration::from_secs(15),
        "the last slow socket closed after {last:?}"
    );
    assert!(
        last >= Duration::from_secs(2),
        "at most 16 connections at once: all 50 closed within {last:?}"
    );

    // The server answers normally afterwards.
    let reply = get(&addr, "/api/v1/runs", &[]);
    assert_eq!(reply.status, 200, "{reply:?}");
    // A body that stalls is answered 408 once its deadline passes.
    let mut stalled = TcpStream::connect(&addr).unwrap();
    stalled
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stalled
        .write_all(
            format!(
                "POST /api/v1/ingest HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"run\""
            )
            .as_bytes(),
        )
        .unwrap();
    let mut reader = BufReader::new(stalled);
    let (status, _) = read_head(&mut reader);
    assert_eq!(status, 408);
    // The live stream survived all of it, and still delivers.
    let reply = request(
        &addr,
        "POST",
        "/api/v1/ingest",
        &[("Content-Type", "application/json")],
        &json_batch("after"),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    wait_for_event(&mut live, "event: scalars");
}

#[test]
fn bad_flag_values_are_refused_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    for (flag, value) in [
        ("--allowed-host", "not a host"),
        ("--max-connections", "0"),
        ("--header-timeout", "0"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_runboard"))
            .args(["serve", "--port", "0", "--logdir"])
            .arg(dir.path())
            .arg("--db")
            .arg(dir.path().join("db.sqlite"))
            .args([flag, value])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{flag} {value}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(flag), "{flag}: {stderr}");
    }
}
