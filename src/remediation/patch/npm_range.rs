//! npm ranges.
