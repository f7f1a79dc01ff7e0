//! The HTTP API (placeholder until the API module lands: an empty router).
#![allow(missing_docs)]
use std::path::PathBuf;

use crate::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub logdir: Option<PathBuf>,
    pub window_title: String,
}

pub fn router(_state: AppState) -> axum::Router {
    axum::Router::new()
}
