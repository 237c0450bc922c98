//! The dashboard driven in headless Chromium.
