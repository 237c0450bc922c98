//! Span-locating JSON scanner.
