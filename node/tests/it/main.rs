//! Integration tests of the node: configuration, the router in-process, a real socket,
//! the real binary, and the home page in headless Chromium.
#![allow(clippy::expect_used, clippy::unwrap_used)] // tests may panic

mod api;
mod api_snapshots;
mod auth;
mod authz;
mod authz_routes;
mod backup;
mod beacon;
mod bench_messaging;
mod browser;
mod browser_i18n;
mod browser_messages;
mod browser_phenopackets;
mod browser_qa;
mod browser_research;
mod config;
mod deploy;
mod device;
mod documents;
mod driver;
mod erasure;
mod erasure_crash;
mod federation;
mod federation_hostile;
mod federation_qa;
mod federation_qa_claims;
mod federation_qa_upgrade;
mod federation_research;
mod federation_restart;
mod hardening;
mod mail;
mod match_cli;
mod member_api;
mod messaging;
mod messaging_images;
mod messaging_matrix;
mod messaging_remote;
mod metrics;
mod mme;
mod mme_send;
mod openapi;
mod pair;
mod patients;
mod people;
mod phenopackets;
mod process;
mod qa;
mod qa_moderation;
mod qa_ranking;
mod register;
mod research;
mod research_budget;
mod research_i18n;
mod resync;
mod script;
mod setup;
mod socket;
mod store;
mod symptoms;
mod synapse;
mod upgrade;
mod validation;
mod validation_i18n;
mod web;

use std::sync::OnceLock;

use raremesh::AppState;
use raremesh::config::Config;

/// A state over the shipped ontology, built once per test binary (in a shared temp folder).
pub fn state() -> AppState {
    static STATE: OnceLock<(AppState, tempfile::TempDir)> = OnceLock::new();
    STATE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            let config = Config {
                data_dir: dir.path().join("data"),
                ..Config::default()
            };
            let (state, _) = raremesh::boot::boot(config).expect("boot");
            (state, dir)
        })
        .0
        .clone()
}
