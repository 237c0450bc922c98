//! Integration tests: the real actix app, real workers and a real sled store on disk, driven
//! over loopback HTTP with deliveries built by gitlab-sim exactly as GitLab sends them.

mod actions;
mod binary;
mod binary_gitlab;
mod catalog;
mod dashboard;
mod demo;
mod doctor;
mod findings;
mod forks;
mod gitlab_client;
mod harness;
mod hostile;
mod intake;
mod inventory;
mod lifecycle;
mod mrcheck;
mod npm_audit;
mod pg;
mod pipelines;
mod policy;
mod python_locks;
mod rate_limits;
mod readme;
mod refusals;
mod registry_outage;
mod remediation;
mod scan;
mod shapes;
mod soak;
mod store_errors;
mod tls;
mod transitive;
mod upload_limits;
mod workers;
