//! runboard
