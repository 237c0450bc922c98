//! Integration tests: the real actix app, real workers and a real sled store on disk, driven
//! over loopback HTTP with deliveries built by gitlab-sim exactly as GitLab sends them.

mod binary;
mod binary_gitlab;
mod catalog;
mod dashboard;
mod demo;
mod findings;
mod gitlab_client;
mod harness;
mod hostile;
mod intake;
mod inventory;
mod readme;
mod remediation;
mod scan;
mod soak;
mod workers;
