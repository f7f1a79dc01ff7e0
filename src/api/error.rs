//! The API's one error type, its JSON body, and extractors whose rejections become it.

use axum::extract::{FromRequestParts, Query};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::store::StoreError;

/// Everything a handler can answer instead of data. Each variant has one status and one stable
/// snake_case `code`; the body is always `{"code": ..., "message": ...}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed (missing or unparsable parameter, value out of range). The
    /// client fixes the request; retrying it unchanged fails again.
    #[error("{0}")]
    BadRequest(String),
    /// The run, tag or path does not exist. It may exist later (data still arriving).
    #[error("{0}")]
    NotFound(String),
    /// The series exists but holds another kind of data than the endpoint serves.
    #[error("{run:?}/{tag:?} is a {actual} series, not a {expected} series")]
    WrongKind {
        /// The run.
        run: String,
        /// The tag.
        tag: String,
        /// The kind the endpoint serves.
        expected: crate::types::Kind,
        /// The kind the series holds.
        actual: crate::types::Kind,
    },
    /// The path exists but not for this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A write without the server's token (or with a wrong one), or a read without it where
    /// reads need it (a server listening beyond loopback). Send `Authorization: Bearer <token>`
    /// (the SDK sends `RUNBOARD_TOKEN`); a browser logs in once at `/login`.
    #[error(
        "a valid token is required: send Authorization: Bearer <token>, or log in at /login in a browser"
    )]
    Unauthorized,
    /// The `Host` header names a host this server does not answer to (a DNS-rebinding page, or
    /// a name the operator has not allowed). Use a loopback address or an allowed name; the
    /// operator allows a name with `runboard serve --allowed-host NAME`.
    #[error(
        "this server does not answer to the host {0:?}: use localhost or an IP address, or start it with --allowed-host NAME to allow a name"
    )]
    ForbiddenHost(String),
    /// A state-changing request sent from another web origin (`Origin` is not this server).
    /// Send it from the dashboard itself, or from a program (which sends no `Origin`).
    #[error("cross-origin requests may not change anything: the Origin {0:?} is not this server")]
    ForbiddenOrigin(String),
    /// A state-changing request whose `Content-Type` is not `application/x-protobuf` or
    /// `application/json`. Resend with one of them (a browser cannot send these across origins
    /// without asking first).
    #[error(
        "state-changing requests need Content-Type application/x-protobuf or application/json, not {0:?}"
    )]
    UnsupportedMediaType(String),
    /// The request body did not arrive in time (a stalled or very slow client). Retry over a
    /// better connection or with a smaller body.
    #[error("the request body did not arrive in time")]
    RequestTimeout,
    /// Every slot for this kind of work (drawing charts, a t-SNE) stayed taken while the request
    /// waited. Retry in a few seconds.
    #[error(
        "the server is busy with other work of this kind (drawing charts, a t-SNE): retry in a few seconds"
    )]
    Busy,
    /// The request body is larger than the server accepts.
    #[error("request body too large")]
    PayloadTooLarge,
    /// The request contradicts what is stored: an ingest batch key `(session, seq)` that was
    /// committed for another run or with other points. Nothing was stored; retrying it
    /// unchanged fails again (the sender sets the batch aside, or resends its points under a
    /// new key).
    #[error("{0}")]
    Conflict(String),
    /// What was asked for exists but cannot be served as asked (stored bytes that do not
    /// decode as what their kind says, a model graph that is not a GraphDef, ...).
    #[error("{0}")]
    Unprocessable(String),
    /// The store's writer has stopped (the server is shutting down): retry on another instance
    /// or later.
    #[error("the store is shutting down")]
    Unavailable,
    /// The database's disk is full: nothing of the request was stored. Retry once space is
    /// freed (the SDK keeps the batch in its spool and retries by itself). The message names
    /// the database so that its operator knows which disk to clear.
    #[error("{0}; nothing of this request was stored: retry once space is freed")]
    StorageFull(String),
    /// The database failed. Logged in full; the client only learns that it was internal.
    #[error("store error: {0}")]
    Store(StoreError),
    /// Anything else that is the server's fault (a panicked blocking task, ...). Logged in full.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::WriterGone => ApiError::Unavailable,
            StoreError::CommitFailed(f) if f.full => ApiError::StorageFull(f.message),
            e if e.is_full() => ApiError::StorageFull(e.to_string()),
            other => ApiError::Store(other),
        }
    }
}

impl ApiError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::WrongKind { .. } => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::ForbiddenHost(_) | ApiError::ForbiddenOrigin(_) => StatusCode::FORBIDDEN,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable | ApiError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::StorageFull(_) => StatusCode::INSUFFICIENT_STORAGE,
            ApiError::Store(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::NotFound(_) => "not_found",
            ApiError::WrongKind { .. } => "wrong_kind",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Unauthorized => "unauthorized",
            ApiError::ForbiddenHost(_) => "forbidden_host",
            ApiError::ForbiddenOrigin(_) => "forbidden_origin",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::RequestTimeout => "request_timeout",
            ApiError::Busy => "busy",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::Conflict(_) => "conflict",
            ApiError::Unprocessable(_) => "unprocessable",
            ApiError::Unavailable => "unavailable",
            ApiError::StorageFull(_) => "storage_full",
            ApiError::Store(_) | ApiError::Internal(_) => "internal",
        }
    }

    /// The message shown to the client: the error itself for 4xx, a fixed text for 5xx so that
    /// no internals (paths, SQL) leak.
    fn public_message(&self) -> String {
        match self {
            ApiError::Store(_) | ApiError::Internal(_) => "internal server error".to_owned(),
            other => other.to_string(),
        }
    }

    /// The error for a series that is missing.
    pub fn no_series(run: &str, tag: &str) -> ApiError {
        ApiError::NotFound(format!("run {run:?} has no tag {tag:?}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        // A full disk is logged once per failed commit by the store, not per request.
        if status.is_server_error() && !matches!(self, ApiError::StorageFull(_)) {
            tracing::error!(error = %self, "request failed");
        }
        let body = serde_json::json!({ "code": self.code(), "message": self.public_message() });
        (status, axum::Json(body)).into_response()
    }
}

/// Maps one of axum's own rejections (plain text) to an [`ApiError`] with the same meaning.
pub fn from_rejection(status: StatusCode, text: String) -> ApiError {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        s if s.is_server_error() => ApiError::Internal(text),
        _ => ApiError::BadRequest(text),
    }
}

/// `Query<T>` whose rejection is a JSON [`ApiError::BadRequest`] instead of axum's plain text.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::try_from_uri(&parts.uri) {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(from_rejection(rejection.status(), rejection.body_text())),
        }
    }
}
