//! Dashboard pages over HTTP.
