//! gitlab-sim: a stateful fake GitLab for backline's tests, benchmarks and demo.
//!
//! This first version is GitLab's webhook sender: it builds deliveries exactly as GitLab does
//! (headers, secret token, Standard Webhooks signature) and posts them. The REST model grows
//! with the GitLab client.

pub mod webhook;

pub use webhook::{Delivery, DeliveryBuilder, SendError, Sender};
