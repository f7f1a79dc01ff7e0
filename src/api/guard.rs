//! The one guard every request passes before any handler: Host check, same-origin writes with an exact content type, tokens, `nosniff`, and a JSON 408 for bodies that never arrive.
//!
//! ```text
//! request ─► Host (or :authority) allowed? ─────────────────────────────no─► 403 forbidden_host
//!   │ not GET/HEAD: Origin absent, or this server's own? ───────────────no─► 403 forbidden_origin
//!   ├─ a write (not GET/HEAD/OPTIONS, not in READ_ONLY_POSTS):
//!   │     Content-Type application/x-protobuf or application/json? ─────no─► 415 unsupported_media_type
//!   │     the server's token as `Authorization: Bearer`? ───────────────no─► 401 unauthorized
//!   ├─ a read where reads need the token (a non-loopback --host without --public-reads):
//!   │     Bearer or the login cookie? ─no─► a page: 303 to /login; anything else: 401 unauthorized
//!   ├─ `GET /?token=<the token>` ─► the login cookie, and 303 to `/` without the token
//!   └─► the handler (its request body under a deadline: 408 request_timeout when it passes)
//! every response ─► X-Content-Type-Options: nosniff
//! ```
//!
//! Why each rule. **Host**: a web page can make its own name resolve to 127.0.0.1 (DNS
//! rebinding) and then read everything as "same origin"; the name it uses is in `Host`, so only
//! loopback names, the bound address, IP literals (which cannot be rebound) and names the
//! operator allowed are served. **Origin and content type**: any page can send a "simple"
//! cross-origin POST (`text/plain`, form encodings) without asking first; requiring
//! `application/x-protobuf` or `application/json` forces a CORS preflight, which this server
//! never grants, and a foreign `Origin` is refused outright. **Tokens**: writes carry the
//! token as a Bearer header (never a cookie, so no page can borrow it); beyond loopback, reads
//! need it too, and a browser logs in once at `/login` to get an `HttpOnly; SameSite=Strict`
//! cookie. The rules are classified by method and path only, so a route added later is a read
//! (GET) or a write (anything else) without any change here.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Version, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use super::{ApiError, AppState};

/// The login page (`GET`) and form target (`POST`).
pub const LOGIN_PATH: &str = "/login";

/// The cookie that carries the token for a browser after it logged in.
pub const TOKEN_COOKIE: &str = "runboard_token";

/// The media types a write may carry (parameters after `;` are allowed).
const WRITE_MEDIA_TYPES: [&str; 2] = ["application/x-protobuf", "application/json"];

/// What a request needs to pass, besides the Host check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Nothing more (the login page and form).
    Public,
    /// The token where reads need it.
    Read,
    /// An exact content type, and the token when the server has one.
    Write,
}

/// POSTs that change nothing, and what they need instead of a write's checks: TensorBoard's
/// `timeSeries` query (its front end posts a form-encoded body), its HParams plugin's queries
/// (posted as `text/plain` JSON) and the login form. Every other POST, PUT, PATCH and DELETE
/// is a write, whatever route it reaches.
const READ_ONLY_POSTS: [(&str, Access); 5] = [
    ("/data/plugin/timeseries/timeSeries", Access::Read),
    ("/data/plugin/hparams/experiment", Access::Read),
    ("/data/plugin/hparams/session_groups", Access::Read),
    ("/data/plugin/hparams/metric_evals", Access::Read),
    (LOGIN_PATH, Access::Public),
];

/// A host name that `--allowed-host` cannot accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a host name or IP address (letters, digits, '-', '_' and '.', or an IP; a port is ignored)"
)]
pub struct InvalidHostName(pub String);

/// A `Host` value without its port: an IP literal or a lowercase name without a trailing dot.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HostName {
    Ip(IpAddr),
    Name(String),
}

impl fmt::Display for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostName::Ip(ip) => write!(f, "{ip}"),
            HostName::Name(name) => f.write_str(name),
        }
    }
}

/// Whether `port` is a port number (1 to 5 digits).
fn is_port(port: &str) -> bool {
    (1..=5).contains(&port.len()) && port.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `s` is empty or `:` and a port number.
fn is_port_suffix(s: &str) -> bool {
    s.is_empty() || s.strip_prefix(':').is_some_and(is_port)
}

/// Parses `host`, `host:port`, `[v6]` or `[v6]:port`. `None` for anything else (a bare IPv6
/// address, an empty name, characters no host name has).
fn parse_host(authority: &str) -> Option<HostName> {
    let authority = authority.trim();
    if let Some(rest) = authority.strip_prefix('[') {
        let (ip, after) = rest.split_once(']')?;
        let ip: Ipv6Addr = ip.parse().ok()?;
        return is_port_suffix(after).then_some(HostName::Ip(IpAddr::V6(ip)));
    }
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if is_port(port) => host,
        Some(_) => return None,
        None => authority,
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.is_empty() || host.contains(':') {
        return None;
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Some(HostName::Ip(IpAddr::V4(ip)));
    }
    host.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        .then(|| HostName::Name(host.to_ascii_lowercase()))
}

/// The `Host` names the server answers to: loopback names and addresses (`localhost`,
/// `*.localhost`, 127.0.0.0/8, `::1`), the address it is bound to, any IP literal when it is
/// bound to an unspecified address (0.0.0.0 or ::), and the names of `--allowed-host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPolicy {
    bound: IpAddr,
    /// Normalized: lowercase names without a trailing dot, IPs in canonical text.
    allowed: Vec<String>,
}

impl Default for HostPolicy {
    /// Bound to 127.0.0.1, no extra names.
    fn default() -> Self {
        HostPolicy {
            bound: IpAddr::V4(Ipv4Addr::LOCALHOST),
            allowed: Vec::new(),
        }
    }
}

impl HostPolicy {
    /// The policy of a server bound to `bound` that also answers to the names in `allowed`
    /// (each a name or IP, with or without a port, which is ignored).
    pub fn new<S: AsRef<str>>(
        bound: IpAddr,
        allowed: impl IntoIterator<Item = S>,
    ) -> Result<HostPolicy, InvalidHostName> {
        let allowed = allowed
            .into_iter()
            .map(|name| normalize_host_name(name.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(HostPolicy { bound, allowed })
    }

    /// Whether a request whose `Host` is `authority` (a port is ignored) is served.
    pub fn allows(&self, authority: &str) -> bool {
        match parse_host(authority) {
            None => false,
            Some(HostName::Ip(ip)) => {
                let ip = ip.to_canonical();
                ip.is_loopback()
                    || self.bound.is_unspecified()
                    || ip == self.bound.to_canonical()
                    || self.allowed.contains(&ip.to_string())
            }
            Some(HostName::Name(name)) => {
                name == "localhost" || name.ends_with(".localhost") || self.allowed.contains(&name)
            }
        }
    }
}

/// `name` as [`HostPolicy`] compares it: lowercase, no port, no trailing dot, IPs canonical.
pub fn normalize_host_name(name: &str) -> Result<String, InvalidHostName> {
    match parse_host(name) {
        Some(HostName::Ip(ip)) => Ok(ip.to_canonical().to_string()),
        Some(host) => Ok(host.to_string()),
        None => Err(InvalidHostName(name.to_owned())),
    }
}

/// Who may read and write: the server's token, if any, and whether reads need it too.
#[derive(Clone, Default)]
pub struct TokenPolicy {
    token: Option<Arc<str>>,
    reads_need_token: bool,
}

impl fmt::Debug for TokenPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPolicy")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("reads_need_token", &self.reads_need_token)
            .finish()
    }
}

impl TokenPolicy {
    /// No token: writes and reads are open to whoever passes the Host and Origin checks.
    pub fn open() -> TokenPolicy {
        TokenPolicy::default()
    }

    /// Writes need `token`; reads do not.
    pub fn writes(token: impl Into<String>) -> TokenPolicy {
        TokenPolicy {
            token: Some(Arc::from(token.into())),
            reads_need_token: false,
        }
    }

    /// Writes and reads need `token`.
    pub fn reads_and_writes(token: impl Into<String>) -> TokenPolicy {
        TokenPolicy {
            token: Some(Arc::from(token.into())),
            reads_need_token: true,
        }
    }

    /// The policy of a server listening on `host`: writes need `token` (when given); reads
    /// need it too on a non-loopback host, unless `public_reads`.
    pub fn for_host(host: IpAddr, token: Option<String>, public_reads: bool) -> TokenPolicy {
        match token {
            None => TokenPolicy::open(),
            Some(t) if host.is_loopback() || public_reads => TokenPolicy::writes(t),
            Some(t) => TokenPolicy::reads_and_writes(t),
        }
    }

    /// The server's token.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Whether reads need the token (only ever with a token).
    pub fn reads_need_token(&self) -> bool {
        self.reads_need_token && self.token.is_some()
    }

    /// Whether `given` is the token, compared in constant time; `false` without a token.
    fn is_token(&self, given: &str) -> bool {
        self.token
            .as_deref()
            .is_some_and(|t| same_secret(given.as_bytes(), t.as_bytes()))
    }
}

/// Constant-time equality of two byte strings (the length is not secret).
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What the guard needs: the Host names served and the token policy.
#[derive(Debug, Clone)]
struct Guard {
    hosts: Arc<HostPolicy>,
    tokens: TokenPolicy,
}

/// `router` behind the guard: every route and fallback it has now (so [`super::router_with`]
/// applies it last, around everything it serves).
pub fn apply(router: Router<AppState>, hosts: HostPolicy, tokens: TokenPolicy) -> Router<AppState> {
    let state = Guard {
        hosts: Arc::new(hosts),
        tokens,
    };
    router.layer(axum::middleware::from_fn_with_state(state, guard))
}

/// The middleware: [`check`], then the handler under [`run_with_deadline`], then `nosniff` on
/// whatever is answered.
async fn guard(State(g): State<Guard>, req: Request, next: Next) -> Response {
    let mut res = match check(&g, &req) {
        Ok(None) => run_with_deadline(req, next).await,
        Ok(Some(answer)) => answer,
        Err(e @ ApiError::Unauthorized) => {
            let mut res = e.into_response();
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"runboard\""),
            );
            res
        }
        Err(e) => e.into_response(),
    };
    res.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

/// Runs the handler, answering 408 when its request body's deadline (tower-http's
/// `RequestBodyDeadlineLayer`, outside this layer) passed while it was read.
async fn run_with_deadline(req: Request, next: Next) -> Response {
    let timed_out = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&timed_out);
    let req = req.map(|body| {
        Body::new(body.map_err(move |e| {
            if is_deadline(&e) {
                flag.store(true, Ordering::Relaxed);
            }
            e
        }))
    });
    let res = next.run(req).await;
    if timed_out.load(Ordering::Relaxed) {
        ApiError::RequestTimeout.into_response()
    } else {
        res
    }
}

/// Whether `e` (or its cause) is a passed body deadline.
fn is_deadline(e: &axum::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cause {
        if err.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = err.source();
    }
    false
}

/// Every rule but the body deadline: `Ok(None)` to run the handler, `Ok(Some(answer))` to
/// answer instead (a redirect), or the error to answer with.
fn check(g: &Guard, req: &Request) -> Result<Option<Response>, ApiError> {
    let authority = checked_host(&g.hosts, req)?;
    let method = req.method();
    if method != Method::GET && method != Method::HEAD {
        check_origin(req.headers(), authority)?;
    }
    match access(method, req.uri().path()) {
        Access::Public => Ok(None),
        Access::Write => {
            check_media_type(req.headers())?;
            match g.tokens.token() {
                Some(_) if !bearer(req.headers()).is_some_and(|t| g.tokens.is_token(t)) => {
                    Err(ApiError::Unauthorized)
                }
                _ => Ok(None),
            }
        }
        Access::Read => check_read(&g.tokens, req),
    }
}

/// What `method` on `path` needs (see [`READ_ONLY_POSTS`]).
fn access(method: &Method, path: &str) -> Access {
    if method == Method::GET || method == Method::HEAD || method == Method::OPTIONS {
        return if path == LOGIN_PATH {
            Access::Public
        } else {
            Access::Read
        };
    }
    READ_ONLY_POSTS
        .iter()
        .find(|(p, _)| method == Method::POST && *p == path)
        .map_or(Access::Write, |(_, access)| *access)
}

/// The request's host (the URI's authority, as HTTP/2 sends it, else `Host`) once every one
/// given is served. A request without any is refused from HTTP/1.1 on.
fn checked_host<'r>(hosts: &HostPolicy, req: &'r Request) -> Result<Option<&'r str>, ApiError> {
    let mut headers = req.headers().get_all(header::HOST).iter();
    let header =
        match (headers.next(), headers.next()) {
            (None, _) => None,
            (Some(v), None) => Some(v.to_str().map_err(|_| {
                ApiError::ForbiddenHost(String::from_utf8_lossy(v.as_bytes()).into())
            })?),
            (Some(_), Some(_)) => {
                return Err(ApiError::ForbiddenHost("several Host headers".into()));
            }
        };
    let uri = req.uri().authority().map(|a| a.as_str());
    for given in [uri, header].into_iter().flatten() {
        if !hosts.allows(given) {
            return Err(ApiError::ForbiddenHost(given.to_owned()));
        }
    }
    let effective = uri.or(header);
    if effective.is_none() && req.version() >= Version::HTTP_11 {
        return Err(ApiError::ForbiddenHost(String::new()));
    }
    Ok(effective)
}

/// An `Origin`, when present, must be this server: scheme http or https and the request's
/// host and port (`Origin: null` is foreign).
fn check_origin(headers: &HeaderMap, authority: Option<&str>) -> Result<(), ApiError> {
    let mut origins = headers.get_all(header::ORIGIN).iter();
    let origin = match (origins.next(), origins.next()) {
        (None, _) => return Ok(()),
        (Some(v), None) => v.to_str().unwrap_or_default(),
        (Some(_), Some(_)) => {
            return Err(ApiError::ForbiddenOrigin("several Origin headers".into()));
        }
    };
    if authority.is_some_and(|a| same_origin(origin, a)) {
        Ok(())
    } else {
        Err(ApiError::ForbiddenOrigin(origin.to_owned()))
    }
}

/// Whether `origin` (`scheme://host[:port]`) names the server reached at `authority`
/// (`host[:port]`): http or https, same host and port, a default port written or not.
fn same_origin(origin: &str, authority: &str) -> bool {
    let origin = origin.to_ascii_lowercase();
    let Some((scheme, rest)) = origin.split_once("://") else {
        return false;
    };
    let default_port = match scheme {
        "http" => ":80",
        "https" => ":443",
        _ => return false,
    };
    if rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
        return false;
    }
    let authority = authority.to_ascii_lowercase();
    let strip = |a: &str| a.strip_suffix(default_port).unwrap_or(a).to_owned();
    strip(rest) == strip(&authority)
}

/// A write's `Content-Type` must be exactly one of [`WRITE_MEDIA_TYPES`] (any case, with any
/// parameters after `;`).
fn check_media_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let mut values = headers.get_all(header::CONTENT_TYPE).iter();
    let given = match (values.next(), values.next()) {
        (Some(v), None) => v.to_str().unwrap_or_default(),
        (None, _) => "",
        (Some(_), Some(_)) => "several Content-Type headers",
    };
    let essence = given.split(';').next().unwrap_or_default().trim();
    if WRITE_MEDIA_TYPES
        .iter()
        .any(|m| essence.eq_ignore_ascii_case(m))
    {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(given.to_owned()))
    }
}

/// A read: free unless reads need the token; then the token as Bearer or cookie, else a
/// redirect to the login page for a page and 401 for anything else. `GET /?token=<token>`
/// logs a browser in wherever there is a token.
fn check_read(tokens: &TokenPolicy, req: &Request) -> Result<Option<Response>, ApiError> {
    if tokens.token().is_none() {
        return Ok(None);
    }
    let uri = req.uri();
    if uri.path() == "/"
        && let Some((given, rest)) = token_in_query(uri.query())
        && tokens.is_token(&given)
    {
        let location = if rest.is_empty() {
            "/".to_owned()
        } else {
            format!("/?{rest}")
        };
        return Ok(Some(logged_in(&location, &given)));
    }
    if !tokens.reads_need_token() {
        return Ok(None);
    }
    let headers = req.headers();
    if bearer(headers).is_some_and(|t| tokens.is_token(t))
        || cookie_tokens(headers).any(|t| tokens.is_token(&t))
    {
        return Ok(None);
    }
    if is_page(req) {
        Ok(Some(see_other(LOGIN_PATH)))
    } else {
        Err(ApiError::Unauthorized)
    }
}

/// The `token` query parameter and the query without it.
fn token_in_query(query: Option<&str>) -> Option<(String, String)> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query?).ok()?;
    let token = pairs.iter().find(|(k, _)| k == "token")?.1.clone();
    let rest: Vec<&(String, String)> = pairs.iter().filter(|(k, _)| k != "token").collect();
    Some((token, serde_urlencoded::to_string(rest).unwrap_or_default()))
}

/// Whether a refused read should be sent to the login page: a GET of a page, not of an API.
fn is_page(req: &Request) -> bool {
    let path = req.uri().path();
    let under = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    let api = under("/api") || under("/data") || under("/metrics");
    let wants_html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    (req.method() == Method::GET || req.method() == Method::HEAD)
        && !api
        && (path == "/" || wants_html)
}

/// The token of `Authorization: Bearer <token>`.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The values of every [`TOKEN_COOKIE`] the request carries, decoded.
fn cookie_tokens(headers: &HeaderMap) -> impl Iterator<Item = String> + '_ {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == TOKEN_COOKIE).then(|| percent_decode(value))?
        })
}

/// Whether `b` may stand in a cookie value unencoded (RFC 6265's cookie-octet, less `%`).
fn is_cookie_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x24 | 0x26..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e)
}

/// `value` percent-encoded wherever a byte may not stand in a cookie (so any token fits).
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if is_cookie_octet(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The inverse of [`percent_encode`]; `None` for malformed input.
fn percent_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `303 See Other` to `location`.
fn see_other(location: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// `303` to `location`, setting the login cookie to `token`.
fn logged_in(location: &str, token: &str) -> Response {
    let mut res = see_other(location);
    let cookie = format!(
        "{TOKEN_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/",
        percent_encode(token)
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

/// The login page allows only its own inline style and a form posting to this server.
const LOGIN_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// `GET /login`: the form asking for the token (to `/` when the server has none).
pub(super) async fn login_page(State(state): State<AppState>) -> Response {
    if state.tokens.token().is_none() {
        return see_other("/");
    }
    login_form(StatusCode::OK, &state.window_title, None)
}

/// `POST /login` with a form-encoded `token`: the cookie and `303` to `/` when it is the
/// server's token, else the form again with a 401.
pub(super) async fn login(State(state): State<AppState>, body: Bytes) -> Response {
    if state.tokens.token().is_none() {
        return see_other("/");
    }
    let given = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
        .ok()
        .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "token"))
        .map(|(_, v)| v);
    match given {
        Some(token) if state.tokens.is_token(&token) => logged_in("/", &token),
        _ => login_form(
            StatusCode::UNAUTHORIZED,
            &state.window_title,
            Some("That token is wrong. Try again."),
        ),
    }
}

/// `text` with HTML's special characters escaped.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The login page: no script, the window title escaped, an optional error line.
fn login_form(status: StatusCode, window_title: &str, error: Option<&str>) -> Response {
    let title = if window_title.is_empty() {
        "runboard".to_owned()
    } else {
        escape_html(window_title)
    };
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape_html(e)))
        .unwrap_or_default();
    let html = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}: log in</title>
<style>
  body {{ font: 16px system-ui, sans-serif; max-width: 28rem; margin: 4rem auto; padding: 0 1rem; }}
  input {{ font: inherit; width: 100%; box-sizing: border-box; margin: .5rem 0 1rem; padding: .4rem; }}
  button {{ font: inherit; padding: .4rem 1.2rem; }}
  .error {{ color: #b00020; }}
  @media (prefers-color-scheme: dark) {{ body {{ background: #121212; color: #e0e0e0; }} }}
</style>
</head>
<body>
<main>
<h1>{title}</h1>
<p>This server needs its token to show runs. It was printed when the server started (as a link
with <code>?token=</code>), or ask whoever runs it.</p>
{error}
<form method="post" action="{LOGIN_PATH}">
<label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Log in</button>
</form>
</main>
</body>
</html>
"#
    );
    let mut res = (status, html).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(LOGIN_CONTENT_SECURITY_POLICY),
    );
    // Not `no-referrer`: a browser would then send the form with `Origin: null`, which the
    // guard refuses as foreign.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    res
}

#[cfg(test)]
mod tests;
