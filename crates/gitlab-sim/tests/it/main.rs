//! Integration tests of gitlab-sim over real loopback HTTP.

mod auth_projects;
mod auto_disabling;
mod binary;
mod faults_recorder;
mod files;
mod forks;
mod generator;
mod hooks;
mod merge_requests;
mod misc;
mod pipelines;
mod schemas;
mod shapes;
mod support;
