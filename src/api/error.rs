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
        expected: &'static str,
        /// The kind the series holds.
        actual: String,
    },
    /// The path exists but not for this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A write without the server's token (or with a wrong one). Send `Authorization: Bearer
    /// <token>` (the SDK sends `RUNBOARD_TOKEN`).
    #[error("a valid write token is required (Authorization: Bearer <token>)")]
    Unauthorized,
    /// The request body is larger than the server accepts.
    #[error("request body too large")]
    PayloadTooLarge,
    /// The request contradicts what is stored: an ingest batch key `(session, seq)` that was
    /// committed for another run or with other points. Nothing was stored; retrying it
    /// unchanged fails again (the sender sets the batch aside, or resends its points under a
    /// new key).
    #[error("{0}")]
    Conflict(String),
    /// The store's writer has stopped (the server is shutting down): retry on another instance
    /// or later.
    #[error("the store is shutting down")]
    Unavailable,
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
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
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
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::Conflict(_) => "conflict",
            ApiError::Unavailable => "unavailable",
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
        if status.is_server_error() {
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
