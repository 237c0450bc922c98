//! merge_requests
