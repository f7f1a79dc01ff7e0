//! The dashboard: the files under `static/`, embedded in the binary, served at `/` and `/static/`.
//!
//! Release builds carry every file inside the executable, so one file runs anywhere; debug
//! builds read `static/` from the source tree, so a page edit needs no rebuild. Responses carry
//! an ETag (the file's SHA-256) and `Cache-Control: no-cache`, so a browser revalidates and gets
//! a 304 while nothing changed, and a Content-Security-Policy that allows only the page's own
//! scripts: logged text cannot run script even if it slipped past the Markdown sanitizer.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::ApiError;

/// The files of `static/`.
#[derive(rust_embed::Embed)]
#[folder = "static/"]
struct Assets;

/// What the page may load: its own scripts, styles and data; images also from `data:` and
/// `blob:` (chart downloads). Inline styles are allowed for the chart library's sizing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; \
     object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

pub(super) async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

pub(super) async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&path, &headers)
}

/// The embedded file `path` (relative to `static/`), a 304 when the client's ETag matches, or a
/// JSON 404.
fn serve(path: &str, headers: &HeaderMap) -> Response {
    let Some(file) = Assets::get(path) else {
        return ApiError::NotFound(format!("no file {path:?}")).into_response();
    };
    let etag = format!(
        "\"{}\"",
        file.metadata
            .sha256_hash()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let mut response = if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mime = file.metadata.mimetype().to_owned();
        let mut r = file.data.into_owned().into_response();
        if let Ok(v) = HeaderValue::from_str(&mime) {
            r.headers_mut().insert(header::CONTENT_TYPE, v);
        }
        r
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use axum::http::{StatusCode, header};

    use super::super::testing::*;

    #[tokio::test]
    async fn the_page_and_its_assets_are_served_with_their_types() {
        let f = fixture();
        let (status, headers, body) = get(&f.router, "/").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .expect("ascii")
                .starts_with("text/html")
        );
        let html = String::from_utf8_lossy(&body);
        assert!(html.contains("static/app.js"), "{html}");
        assert!(
            headers[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .expect("ascii")
                .contains("script-src 'self'")
        );
        for (path, mime) in [
            ("/static/app.js", "text/javascript"),
            ("/static/app.css", "text/css"),
            ("/static/vendor/uplot/uPlot.esm.js", "text/javascript"),
        ] {
            let (status, headers, body) = get(&f.router, path).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert_eq!(headers[header::CONTENT_TYPE], mime, "{path}");
            assert!(!body.is_empty(), "{path}");
        }
    }

    #[tokio::test]
    async fn an_unchanged_asset_is_a_304_and_a_missing_one_a_json_404() {
        let f = fixture();
        let (_, headers, _) = get(&f.router, "/static/app.js").await;
        let etag = headers[header::ETAG].to_str().expect("ascii").to_owned();
        let (status, _, body) =
            get_with(&f.router, "/static/app.js", &[("if-none-match", &etag)]).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED);
        assert!(body.is_empty());
        get_error(
            &f.router,
            "/static/nope.js",
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        get_error(
            &f.router,
            "/static/../Cargo.toml",
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
}
