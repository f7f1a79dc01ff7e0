//! Tests of the guard: every rule on every route family, the login, tokens and timeouts.

use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use axum::http::Request;
use axum::routing::post;

use super::*;
use crate::api::testing::{self, fixture, send};
use crate::api::{RouterOptions, router, router_with, with_layers};

/// A JSON batch that stores one point in run `r`.
const BATCH: &str =
    r#"{"run":"r","session":"s","seq":1,"points":[{"tag":"loss","step":1,"scalar":0.5}]}"#;

fn request(method: Method, uri: &str, headers: &[(&str, &str)], body: &str) -> Request<Body> {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.body(Body::from(body.to_owned())).expect("request")
}

async fn error_code(router: &Router, req: Request<Body>) -> (StatusCode, String, HeaderMap) {
    let (status, headers, body) = send(router, req).await;
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_else(|_| {
        panic!(
            "{status}: JSON body, got {:?}",
            String::from_utf8_lossy(&body)
        )
    });
    (
        status,
        v["code"].as_str().unwrap_or_default().to_owned(),
        headers,
    )
}

/// The runs the store holds, read around the guard.
fn stored_runs(state: &AppState) -> usize {
    state
        .store
        .read(|conn| Ok(crate::store::query::runs(conn)))
        .expect("read")
        .expect("runs")
        .len()
}

fn open_router() -> (tempfile::TempDir, AppState, Router) {
    let (dir, state) = testing::empty_state();
    (dir, state.clone(), router(state))
}

fn token_router(tokens: TokenPolicy) -> (tempfile::TempDir, AppState, Router) {
    let (dir, state) = testing::empty_state();
    let state = AppState { tokens, ..state };
    (dir, state.clone(), router(state))
}

/// One path of every route family, and paths no route has.
const EVERY_FAMILY: [&str; 10] = [
    "/api/v1/runs",
    "/api/v1/stream",
    "/data/runs",
    "/metrics",
    "/",
    "/static/app.js",
    "/login",
    "/nope",
    "/api/nope",
    "/data/nope",
];

#[tokio::test]
async fn a_foreign_host_is_a_json_403_on_every_route_family() {
    let f = fixture();
    for host in [
        "evil.example",
        "evil.example:6006",
        "127.0.0.1.evil.example",
        "localhost.evil.example",
    ] {
        for path in EVERY_FAMILY {
            let req = request(Method::GET, path, &[("host", host)], "");
            let (status, headers, body) = send(&f.router, req).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{host} {path}");
            assert_eq!(headers[header::CONTENT_TYPE], "application/json", "{path}");
            let v: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
            assert_eq!(v["code"], "forbidden_host", "{host} {path}");
            assert!(
                v["message"]
                    .as_str()
                    .expect("message")
                    .contains("--allowed-host"),
                "says how to allow it: {v}"
            );
        }
    }
    // Writes too, before anything is stored.
    let (_dir, state, router) = open_router();
    let req = request(
        Method::POST,
        "/api/v1/ingest",
        &[
            ("host", "evil.example"),
            ("content-type", "application/json"),
        ],
        BATCH,
    );
    let (status, code, _) = error_code(&router, req).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "forbidden_host")
    );
    assert_eq!(stored_runs(&state), 0);
}

#[tokio::test]
async fn loopback_names_and_addresses_are_served() {
    let f = fixture();
    for host in [
        "localhost",
        "localhost:6006",
        "LocalHost.",
        "runs.localhost:6006",
        "127.0.0.1",
        "127.0.0.1:6006",
        "127.1.2.3",
        "[::1]",
        "[::1]:6006",
        "[::ffff:127.0.0.1]:6006",
    ] {
        let req = request(Method::GET, "/api/v1/runs", &[("host", host)], "");
        let (status, _, _) = send(&f.router, req).await;
        assert_eq!(status, StatusCode::OK, "{host}");
    }
}

#[test]
fn the_bound_address_any_ip_when_unspecified_and_allowed_names_are_served() {
    let specific = HostPolicy::new("192.168.1.5".parse().expect("ip"), ["Runs.Example.org:443"])
        .expect("valid names");
    for ok in [
        "192.168.1.5",
        "192.168.1.5:6006",
        "runs.example.org",
        "RUNS.example.org.:80",
        "localhost",
    ] {
        assert!(specific.allows(ok), "{ok}");
    }
    for refused in [
        "192.168.1.6",
        "10.0.0.1",
        "example.org",
        "x.runs.example.org",
        "evil.example",
        "[fe80::1]",
    ] {
        assert!(!specific.allows(refused), "{refused}");
    }
    let any = HostPolicy::new("0.0.0.0".parse().expect("ip"), Vec::<String>::new()).expect("none");
    for ok in ["10.1.2.3", "10.1.2.3:6006", "[fe80::1]:6006", "127.0.0.1"] {
        assert!(any.allows(ok), "{ok}");
    }
    for refused in ["evil.example", "example.org:6006", "10.1.2.3.nip.io"] {
        assert!(!any.allows(refused), "{refused}");
    }
    let v6 = HostPolicy::new("::".parse().expect("ip"), Vec::<String>::new()).expect("none");
    assert!(v6.allows("[2001:db8::1]:6006") && !v6.allows("evil.example"));
    // Malformed values are refused, never guessed at.
    for malformed in [
        "",
        ":6006",
        "::1",
        "[::1",
        "[::1]x",
        "host:port",
        "a:1:2",
        "a b",
        "a/b",
        "évil",
        "[evil.example]",
    ] {
        assert!(!HostPolicy::default().allows(malformed), "{malformed:?}");
    }
    assert!(HostPolicy::new("127.0.0.1".parse().expect("ip"), ["bad name"]).is_err());
    assert_eq!(
        normalize_host_name("Box.Example.:6006").as_deref(),
        Ok("box.example")
    );
    assert_eq!(
        normalize_host_name("[::ffff:10.0.0.1]").as_deref(),
        Ok("10.0.0.1")
    );
}

#[tokio::test]
async fn allowed_names_reach_the_router_through_its_options() {
    let f = fixture();
    let options = RouterOptions {
        hosts: HostPolicy::new("127.0.0.1".parse().expect("ip"), ["runs.example.org"])
            .expect("valid"),
        ..RouterOptions::default()
    };
    let router = router_with(f.state.clone(), options);
    let ok = request(
        Method::GET,
        "/api/v1/runs",
        &[("host", "runs.example.org:6006")],
        "",
    );
    assert_eq!(send(&router, ok).await.0, StatusCode::OK);
    let other = request(
        Method::GET,
        "/api/v1/runs",
        &[("host", "other.example.org")],
        "",
    );
    assert_eq!(send(&router, other).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_missing_host_is_refused_from_http_1_1_on_and_an_absolute_uri_is_checked_too() {
    let f = fixture();
    // Straight to the router: `send` would add a Host.
    let bare = |version: Version| {
        Request::get("/api/v1/runs")
            .version(version)
            .body(Body::empty())
            .expect("request")
    };
    let res = tower::ServiceExt::oneshot(f.router.clone(), bare(Version::HTTP_11))
        .await
        .expect("infallible");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = tower::ServiceExt::oneshot(f.router.clone(), bare(Version::HTTP_10))
        .await
        .expect("infallible");
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "HTTP/1.0 clients may omit Host"
    );
    // An absolute URI names the host that counts, whatever Host says.
    let req = request(
        Method::GET,
        "http://evil.example/api/v1/runs",
        &[("host", "localhost")],
        "",
    );
    assert_eq!(send(&f.router, req).await.0, StatusCode::FORBIDDEN);
    let two = Request::get("/api/v1/runs")
        .header("host", "localhost")
        .header("host", "evil.example")
        .body(Body::empty())
        .expect("request");
    assert_eq!(send(&f.router, two).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn writes_from_a_foreign_origin_are_a_json_403_and_store_nothing() {
    let (_dir, state, router) = open_router();
    for origin in [
        "http://evil.example",
        "null",
        "http://localhost:6007",
        "ftp://localhost:6006",
        "http://localhost:6006/path",
        "http://user@localhost:6006",
        "",
    ] {
        for (path, ct) in [
            ("/api/v1/ingest", "application/json"),
            (
                "/data/plugin/timeseries/timeSeries",
                "application/x-www-form-urlencoded",
            ),
            (LOGIN_PATH, "application/x-www-form-urlencoded"),
        ] {
            let headers = [
                ("host", "localhost:6006"),
                ("origin", origin),
                ("content-type", ct),
            ];
            let (status, code, _) =
                error_code(&router, request(Method::POST, path, &headers, BATCH)).await;
            assert_eq!(
                (status, code.as_str()),
                (StatusCode::FORBIDDEN, "forbidden_origin"),
                "{origin:?} {path}"
            );
        }
    }
    assert_eq!(stored_runs(&state), 0);
    // The server's own origin (http or https, default ports written or not) may write.
    for (host, origin) in [
        ("localhost:6006", "http://localhost:6006"),
        ("LOCALHOST:6006", "https://localhost:6006"),
        ("127.0.0.1", "http://127.0.0.1:80"),
        ("127.0.0.1:443", "https://127.0.0.1"),
    ] {
        let headers = [
            ("host", host),
            ("origin", origin),
            ("content-type", "application/json"),
        ];
        let (status, _, body) = send(
            &router,
            request(Method::POST, "/api/v1/ingest", &headers, BATCH),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{origin}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    assert_eq!(stored_runs(&state), 1);
}

#[tokio::test]
async fn reads_with_a_foreign_origin_pass_and_other_methods_do_not() {
    let f = fixture();
    let get = request(
        Method::GET,
        "/api/v1/runs",
        &[("origin", "http://evil.example")],
        "",
    );
    assert_eq!(send(&f.router, get).await.0, StatusCode::OK);
    let options = request(
        Method::OPTIONS,
        "/api/v1/ingest",
        &[("origin", "http://evil.example")],
        "",
    );
    let (status, code, _) = error_code(&f.router, options).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "forbidden_origin")
    );
}

#[tokio::test]
async fn writes_need_an_exact_write_media_type_else_a_json_415() {
    let (_dir, state, router) = open_router();
    for ct in [
        None,
        Some("text/plain"),
        Some("text/plain; charset=utf-8"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/jsonx"),
        Some("application/json-seq"),
        Some("text/json"),
        Some("application/x-protobuf2"),
        Some("application/json, text/plain"),
    ] {
        let mut headers = vec![];
        if let Some(ct) = ct {
            headers.push(("content-type", ct));
        }
        let (status, code, _) = error_code(
            &router,
            request(Method::POST, "/api/v1/ingest", &headers, BATCH),
        )
        .await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            "{ct:?}"
        );
    }
    assert_eq!(stored_runs(&state), 0);
    for (seq, ct) in [
        (1, "application/json; charset=utf-8"),
        (2, "application/json ;charset=UTF-8"),
    ] {
        let body = BATCH.replace("\"seq\":1", &format!("\"seq\":{seq}"));
        let (status, _, bytes) = send(
            &router,
            request(
                Method::POST,
                "/api/v1/ingest",
                &[("content-type", ct)],
                &body,
            ),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{ct}: {}",
            String::from_utf8_lossy(&bytes)
        );
    }
    // The media type is compared without regard to case.
    let req = request(
        Method::POST,
        "/api/v1/ingest",
        &[("content-type", "APPLICATION/X-PROTOBUF")],
        "",
    );
    let (status, code, _) = error_code(&router, req).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "bad_request"),
        "past the guard"
    );
}

#[tokio::test]
async fn the_read_only_posts_take_their_own_encodings() {
    let f = fixture();
    let req = request(
        Method::POST,
        "/data/plugin/timeseries/timeSeries",
        &[("content-type", "application/x-www-form-urlencoded")],
        "requests=%5B%7B%22plugin%22%3A%22scalars%22%2C%22tag%22%3A%22loss%22%7D%5D",
    );
    let (status, _, body) = send(&f.router, req).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    // The allow-list is exact: a neighbour of it is a write.
    let req = request(
        Method::POST,
        "/data/plugin/timeseries/timeSeries/",
        &[("content-type", "application/x-www-form-urlencoded")],
        "",
    );
    assert_eq!(
        send(&f.router, req).await.0,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
}

#[tokio::test]
async fn a_route_added_later_is_a_guarded_write_without_any_change_to_the_guard() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let handler = move || {
        let counted = Arc::clone(&counted);
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            "done"
        }
    };
    let (_dir, state) = testing::empty_state();
    let state = AppState {
        tokens: TokenPolicy::writes("s3cret"),
        ..state
    };
    // The route table as it is, plus two made-up routes, through the same layers.
    let routes = crate::api::routes()
        .route(
            "/api/v1/runs/{run}/archive",
            post(handler.clone()).delete(handler.clone()),
        )
        .route("/hooks/made-up", post(handler));
    let router = with_layers(routes, state, RouterOptions::default());
    let json = ("content-type", "application/json");
    let bearer = ("authorization", "Bearer s3cret");
    for path in ["/api/v1/runs/r/archive", "/hooks/made-up"] {
        let refused = [
            (
                vec![("content-type", "text/plain"), bearer],
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ),
            (
                vec![json, bearer, ("origin", "http://evil.example")],
                StatusCode::FORBIDDEN,
            ),
            (
                vec![json, bearer, ("host", "evil.example")],
                StatusCode::FORBIDDEN,
            ),
            (vec![json], StatusCode::UNAUTHORIZED),
        ];
        for (headers, want) in refused {
            let (status, _, _) = send(&router, request(Method::POST, path, &headers, "{}")).await;
            assert_eq!(status, want, "{path} {headers:?}");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 0, "no handler ran");
    }
    let (status, _, _) = send(
        &router,
        request(Method::DELETE, "/api/v1/runs/r/archive", &[bearer], ""),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "a DELETE is a write too"
    );
    for (method, path) in [
        (Method::POST, "/hooks/made-up"),
        (Method::DELETE, "/api/v1/runs/r/archive"),
    ] {
        let (status, _, _) = send(&router, request(method, path, &[json, bearer], "{}")).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn writes_need_the_token_as_a_bearer_header_when_the_server_has_one() {
    let (_dir, state, router) = token_router(TokenPolicy::writes("s3cret"));
    let json = ("content-type", "application/json");
    for auth in [
        vec![],
        vec![("authorization", "Bearer wrong")],
        vec![("authorization", "Bearer s3cret-but-longer")],
        vec![("authorization", "Bearer s3cre")],
        vec![("authorization", "Basic s3cret")],
        vec![("authorization", "s3cret")],
        vec![("cookie", "runboard_token=s3cret")],
    ] {
        let mut headers = auth.clone();
        headers.push(json);
        let (status, code, res_headers) = error_code(
            &router,
            request(Method::POST, "/api/v1/ingest", &headers, BATCH),
        )
        .await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::UNAUTHORIZED, "unauthorized"),
            "{auth:?}"
        );
        assert_eq!(
            res_headers[header::WWW_AUTHENTICATE],
            "Bearer realm=\"runboard\""
        );
    }
    assert_eq!(stored_runs(&state), 0);
    for auth in ["Bearer s3cret", "bearer s3cret"] {
        let headers = [("authorization", auth), json];
        let (status, _, _) = send(
            &router,
            request(Method::POST, "/api/v1/ingest", &headers, BATCH),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{auth}");
    }
    assert_eq!(stored_runs(&state), 1);
    // Reads stay open: this policy is a loopback server's.
    assert_eq!(
        testing::get(&router, "/api/v1/runs").await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn where_reads_need_the_token_apis_answer_401_and_pages_go_to_the_login() {
    let (_dir, _state, router) = token_router(TokenPolicy::reads_and_writes("s3cret"));
    for path in [
        "/api/v1/runs",
        "/api/v1/stream",
        "/data/runs",
        "/metrics",
        "/static/app.js",
        "/api/nope",
    ] {
        let (status, code, headers) =
            error_code(&router, request(Method::GET, path, &[], "")).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::UNAUTHORIZED, "unauthorized"),
            "{path}"
        );
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    }
    // A read-only POST is a read.
    let req = request(
        Method::POST,
        "/data/plugin/timeseries/timeSeries",
        &[("content-type", "application/x-www-form-urlencoded")],
        "requests=%5B%5D",
    );
    assert_eq!(send(&router, req).await.0, StatusCode::UNAUTHORIZED);
    // Pages: the dashboard, and any navigation that asks for HTML (not under the APIs).
    let html = ("accept", "text/html,application/xhtml+xml");
    for (path, headers) in [
        ("/", vec![]),
        ("/", vec![html]),
        ("/static/index.html", vec![html]),
        ("/?tab=text", vec![]),
    ] {
        let (status, res_headers, _) =
            send(&router, request(Method::GET, path, &headers, "")).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(res_headers[header::LOCATION], LOGIN_PATH, "{path}");
    }
    let (status, _, _) = send(&router, request(Method::GET, "/api/v1/runs", &[html], "")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "an API is never a page");
    // The login page itself is public.
    let (status, headers, body) = testing::get(&router, LOGIN_PATH).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    let page = String::from_utf8_lossy(&body);
    assert!(
        page.contains("<form method=\"post\" action=\"/login\">"),
        "{page}"
    );
    assert!(!page.contains("<script"), "no script: {page}");
}

#[tokio::test]
async fn the_token_as_bearer_or_cookie_opens_every_read() {
    let (_dir, _state, router) = token_router(TokenPolicy::reads_and_writes("s3cret"));
    for auth in [
        ("authorization", "Bearer s3cret"),
        ("cookie", "theme=dark; runboard_token=s3cret"),
    ] {
        for path in [
            "/api/v1/runs",
            "/data/runs",
            "/metrics",
            "/",
            "/static/app.js",
        ] {
            let (status, _, _) = send(&router, request(Method::GET, path, &[auth], "")).await;
            assert_eq!(status, StatusCode::OK, "{path} {auth:?}");
        }
        let req = request(Method::GET, "/api/v1/stream", &[auth], "");
        let res = tower::ServiceExt::oneshot(router.clone(), with_host(req))
            .await
            .expect("infallible");
        assert_eq!(res.status(), StatusCode::OK, "the live stream");
        assert_eq!(res.headers()[header::CONTENT_TYPE], "text/event-stream");
    }
    for cookie in [
        "runboard_token=wrong",
        "runboard_token=",
        "other=s3cret",
        "runboard_token=s3cret%",
    ] {
        let (status, _, _) = send(
            &router,
            request(Method::GET, "/api/v1/runs", &[("cookie", cookie)], ""),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{cookie}");
    }
}

fn with_host(mut req: Request<Body>) -> Request<Body> {
    req.headers_mut()
        .insert(header::HOST, HeaderValue::from_static("localhost"));
    req
}

#[tokio::test]
async fn the_login_form_sets_the_cookie_for_the_right_token_only() {
    let (_dir, state) = testing::empty_state();
    let state = AppState {
        tokens: TokenPolicy::reads_and_writes("s3 cret;=%"),
        window_title: "<script>alert(1)</script> & co".into(),
        ..state
    };
    let router = router(state);
    let form = [
        ("host", "127.0.0.1:6006"),
        ("origin", "http://127.0.0.1:6006"),
        ("content-type", "application/x-www-form-urlencoded"),
    ];
    let (status, headers, body) = send(
        &router,
        request(Method::POST, LOGIN_PATH, &form, "token=wrong"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!headers.contains_key(header::SET_COOKIE));
    let page = String::from_utf8_lossy(&body);
    assert!(
        page.contains("token is wrong") && page.contains("<form"),
        "{page}"
    );
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; co")
            && !page.contains("<script"),
        "the title is escaped: {page}"
    );
    let (status, _, _) = send(&router, request(Method::POST, LOGIN_PATH, &form, "")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no token field");
    // The right token (form-encoded: space, ';', '=', '%').
    let (status, headers, _) = send(
        &router,
        request(Method::POST, LOGIN_PATH, &form, "token=s3+cret%3B%3D%25"),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/");
    let cookie = headers[header::SET_COOKIE].to_str().expect("ascii");
    assert_eq!(
        cookie,
        "runboard_token=s3%20cret%3B=%25; HttpOnly; SameSite=Strict; Path=/"
    );
    let value = cookie.split(';').next().expect("name=value");
    let (status, _, _) = send(
        &router,
        request(Method::GET, "/api/v1/runs", &[("cookie", value)], ""),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "the cookie opens reads");
    // A plain cookie value is the token itself.
    assert_eq!(
        logged_in("/", "abc-123_XYZ").headers()[header::SET_COOKIE],
        "runboard_token=abc-123_XYZ; HttpOnly; SameSite=Strict; Path=/"
    );
}

#[tokio::test]
async fn the_token_in_the_dashboard_link_becomes_the_cookie_and_leaves_the_url() {
    let (_dir, _state, router) = token_router(TokenPolicy::reads_and_writes("s3cret"));
    for (uri, location) in [
        ("/?token=s3cret", "/"),
        (
            "/?token=s3cret&smoothing=0.3&run=a%2Fb",
            "/?smoothing=0.3&run=a%2Fb",
        ),
    ] {
        let (status, headers, _) = testing::get(&router, uri).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{uri}");
        assert_eq!(headers[header::LOCATION], location, "{uri}");
        assert_eq!(
            headers[header::SET_COOKIE],
            "runboard_token=s3cret; HttpOnly; SameSite=Strict; Path=/"
        );
    }
    let (status, headers, _) = testing::get(&router, "/?token=wrong").await;
    assert_eq!(
        (status, &headers[header::LOCATION]),
        (StatusCode::SEE_OTHER, &HeaderValue::from_static(LOGIN_PATH))
    );
    assert!(!headers.contains_key(header::SET_COOKIE));
    // Only the dashboard's own URL takes it.
    let (status, _, _) = testing::get(&router, "/api/v1/runs?token=s3cret").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn without_a_token_the_login_page_sends_the_browser_home() {
    let (_dir, _state, router) = open_router();
    let (status, headers, _) = testing::get(&router, LOGIN_PATH).await;
    assert_eq!(
        (status, &headers[header::LOCATION]),
        (StatusCode::SEE_OTHER, &HeaderValue::from_static("/"))
    );
    let (status, _, _) = testing::get(&router, "/?token=anything").await;
    assert_eq!(status, StatusCode::OK, "the page, token or not");
}

#[test]
fn reads_need_the_token_beyond_loopback_unless_public() {
    let t = || Some("t".to_owned());
    let lo = "127.0.0.1".parse().expect("ip");
    let any = "0.0.0.0".parse().expect("ip");
    let lan = "10.0.0.7".parse().expect("ip");
    assert!(!TokenPolicy::for_host(lo, t(), false).reads_need_token());
    assert!(!TokenPolicy::for_host("::1".parse().expect("ip"), t(), false).reads_need_token());
    assert!(TokenPolicy::for_host(any, t(), false).reads_need_token());
    assert!(TokenPolicy::for_host(lan, t(), false).reads_need_token());
    assert!(!TokenPolicy::for_host(lan, t(), true).reads_need_token());
    assert_eq!(TokenPolicy::for_host(lan, t(), true).token(), Some("t"));
    assert!(!TokenPolicy::for_host(any, None, false).reads_need_token());
    let shown = format!("{:?}", TokenPolicy::reads_and_writes("hunter2"));
    assert!(!shown.contains("hunter2"), "{shown}");
}

#[tokio::test]
async fn every_response_carries_nosniff() {
    let (_dir, _state, router) = token_router(TokenPolicy::reads_and_writes("s3cret"));
    let bearer = ("authorization", "Bearer s3cret");
    let cases = [
        request(Method::GET, "/api/v1/runs", &[bearer], ""),
        request(Method::GET, "/api/v1/nope", &[bearer], ""),
        request(Method::GET, "/", &[bearer], ""),
        request(Method::GET, "/", &[], ""),
        request(Method::GET, "/metrics", &[], ""),
        request(Method::GET, LOGIN_PATH, &[], ""),
        request(Method::GET, "/", &[("host", "evil.example")], ""),
        request(Method::POST, "/api/v1/ingest", &[bearer], ""),
    ];
    for req in cases {
        let what = format!("{} {}", req.method(), req.uri());
        let (status, headers, _) = send(&router, req).await;
        assert_eq!(
            headers[header::X_CONTENT_TYPE_OPTIONS],
            "nosniff",
            "{what} ({status})"
        );
    }
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_a_json_408() {
    let (_dir, state) = testing::empty_state();
    let options = RouterOptions {
        body_deadline: Duration::from_millis(50),
        ..RouterOptions::default()
    };
    let router = router_with(state.clone(), options);
    let stalled = futures_util::stream::pending::<Result<Bytes, std::io::Error>>();
    let req = Request::post("/api/v1/ingest")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(stalled))
        .expect("request");
    let (status, headers, body) = send(&router, req).await;
    assert_eq!(
        status,
        StatusCode::REQUEST_TIMEOUT,
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    let v: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(v["code"], "request_timeout");
    assert_eq!(stored_runs(&state), 0);
    // A body that does arrive is unaffected.
    let req = request(
        Method::POST,
        "/api/v1/ingest",
        &[("content-type", "application/json")],
        BATCH,
    );
    assert_eq!(send(&router, req).await.0, StatusCode::OK);
}

#[test]
fn origins_match_by_scheme_host_and_port() {
    assert!(same_origin("http://localhost:6006", "localhost:6006"));
    assert!(same_origin("HTTP://LocalHost:6006", "localhost:6006"));
    assert!(same_origin("http://[::1]:6006", "[::1]:6006"));
    assert!(same_origin("http://example.org", "example.org:80"));
    assert!(same_origin("https://example.org:443", "example.org"));
    assert!(!same_origin("https://example.org", "example.org:80"));
    assert!(!same_origin("http://localhost", "localhost:6006"));
    assert!(!same_origin("http://localhost:6006", "localhost"));
    assert!(!same_origin("null", "localhost"));
    assert!(!same_origin("localhost:6006", "localhost:6006"));
    assert!(!same_origin("ws://localhost:6006", "localhost:6006"));
}

#[test]
fn cookie_values_round_trip_any_token() {
    for token in [
        "plain",
        "with space",
        "semi;colon",
        "per%cent",
        "quote\"back\\slash",
        "é",
        "",
    ] {
        let encoded = percent_encode(token);
        assert!(
            encoded.bytes().all(|b| is_cookie_octet(b) || b == b'%'),
            "{encoded}"
        );
        assert_eq!(percent_decode(&encoded).as_deref(), Some(token));
    }
    assert_eq!(percent_decode("%zz"), None);
    assert_eq!(percent_decode("%4"), None);
}
