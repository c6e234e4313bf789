//! What an admin's monitoring reads at `/metrics`, in the Prometheus text format: requests
//! by route and status with their latency, members, accounts by role, patients by
//! validation status, questions, documents, the database's size, mail sent and failed, and
//! the federation (events from each peer, events sent, events dropped by reason, the
//! queues, whether the homeserver answers). Counts of records are taken when scraped.
//! Routes are the route templates (`/register/confirm/{token}`), never a path as asked,
//! so no token or id reaches the monitoring.

use std::collections::BTreeMap;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use raremesh_domain::federation::state::Kind;
use raremesh_domain::registration::patient::Validation;
use raremesh_domain::state::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

/// One label: its name and value.
type One = Vec<(String, String)>;

fn one(name: &str, value: &str) -> One {
    vec![(name.to_owned(), value.to_owned())]
}

fn latency_family() -> Family<RouteLabels, Histogram> {
    // 1 ms to ~16 s.
    Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.001, 2.0, 15)))
}

/// The live figures of a node.
#[derive(Debug)]
pub struct Metrics {
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            requests: Family::default(),
            latency: latency_family(),
        }
    }
}

/// A gauge family with one label, filled from `values`.
fn gauges<'a>(label: &str, values: impl IntoIterator<Item = (&'a str, i64)>) -> Family<One, Gauge> {
    let family = Family::<One, Gauge>::default();
    for (value, n) in values {
        family.get_or_create(&one(label, value)).set(n);
    }
    family
}

fn gauge(n: i64) -> Gauge {
    let g = Gauge::default();
    g.set(n);
    g
}

fn counter(n: u64) -> Counter {
    let c = Counter::default();
    c.inc_by(n);
    c
}

fn folder_bytes(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_owned()];
    while let Some(p) = stack.pop() {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() => {
                if let Ok(entries) = std::fs::read_dir(&p) {
                    stack.extend(entries.flatten().map(|e| e.path()));
                }
            }
            Ok(m) => total += m.len(),
            Err(_) => {}
        }
    }
    total
}

fn len<T, E>(r: Result<Vec<T>, E>) -> i64 {
    r.map_or(0, |v| v.len() as i64)
}

impl Metrics {
    /// Counts one answered request: its method, route template (or `unmatched`), status
    /// and time.
    pub fn request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(seconds);
    }

    /// Everything, in the Prometheus text format.
    pub fn render(&self, state: &AppState) -> String {
        let mut r = Registry::with_prefix("raremesh");
        r.register(
            "http_requests",
            "Requests answered, by method, route template and status",
            self.requests.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "Time to answer a request, by method and route template",
            self.latency.clone(),
        );
        r.register(
            "members",
            "Members (accounts with a member record)",
            gauge(len(state.registrations.members())),
        );
        let mut roles: BTreeMap<&str, i64> = BTreeMap::new();
        for a in state.accounts.all().unwrap_or_default() {
            *roles.entry(a.role.as_str()).or_default() += 1;
        }
        r.register("accounts", "Accounts by role", gauges("role", roles));
        let mut statuses: BTreeMap<&str, i64> = [
            ("not_submitted", 0),
            ("pending", 0),
            ("approved", 0),
            ("rejected", 0),
        ]
        .into_iter()
        .collect();
        for p in state.patients.all().unwrap_or_default() {
            let s = match p.validation {
                Validation::NotSubmitted => "not_submitted",
                Validation::Pending { .. } => "pending",
                Validation::Approved { .. } => "approved",
                Validation::Rejected { .. } => "rejected",
            };
            *statuses.entry(s).or_default() += 1;
        }
        r.register(
            "patients",
            "Patients by validation status",
            gauges("status", statuses),
        );
        r.register(
            "questions",
            "Community questions held (this node's and partners')",
            gauge(len(state.qa.store.questions())),
        );
        r.register(
            "documents",
            "Validation documents stored",
            gauge(
                state
                    .kv
                    .scan_prefix(raremesh_domain::store::Tree::Documents, b"")
                    .map_or(0, |v| v.len() as i64),
            ),
        );
        r.register(
            "database_bytes",
            "Size of the database folder",
            gauge(folder_bytes(&state.config.data_dir.join("db")) as i64),
        );
        let (sent, failed) = state.mailer.counts();
        let mail = Family::<One, Counter>::default();
        for (outcome, n) in [("sent", sent), ("failed", failed)] {
            mail.get_or_create(&one("outcome", outcome)).inc_by(n);
        }
        r.register(
            "mail_messages",
            "Mails sent and failed since the start",
            mail,
        );
        if let Some(f) = &state.federation {
            self.federation(&mut r, state, f);
        }
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &r).is_err() {
            out.clear();
        }
        out
    }

    fn federation(
        &self,
        r: &mut Registry,
        state: &AppState,
        f: &raremesh_domain::federation::Federation,
    ) {
        let h = f.health.snapshot();
        let received = Family::<One, Counter>::default();
        for (peer, n) in &h.received_from {
            received.get_or_create(&one("peer", peer)).inc_by(*n);
        }
        r.register(
            "federation_events_received",
            "Protocol events received from each peer since the start",
            received,
        );
        r.register(
            "federation_events_sent",
            "Protocol events this node sent since the start",
            counter(h.sent),
        );
        let dropped = Family::<One, Counter>::default();
        for (reason, n) in raremesh_bridge::drops::counts() {
            dropped.get_or_create(&one("reason", reason)).inc_by(n);
        }
        r.register(
            "federation_events_dropped",
            "Events from the network refused since the start, by reason",
            dropped,
        );
        let last = Family::<One, Gauge>::default();
        for (peer, at) in &h.last_from {
            last.get_or_create(&one("peer", peer)).set(*at as i64);
        }
        r.register(
            "federation_last_event_timestamp_seconds",
            "When the last event from each peer arrived (Unix time)",
            last,
        );
        let count = |k: Kind<'_>| f.store.scan(k).map_or(0, |v| v.len() as i64);
        r.register(
            "federation_queue",
            "Work waiting: contact messages to handle (inbox), Q&A events to send (qa)",
            gauges(
                "queue",
                [("inbox", count(Kind::Inbox)), ("qa", count(Kind::QaOut))],
            ),
        );
        // What the node holds from each peer, as the status file (rewritten every few
        // seconds by the running node) last counted it.
        if let Ok(status) = raremesh_domain::federation::status::Status::read(
            &state.config.federation_path().join("status.json"),
        ) {
            let held = Family::<One, Gauge>::default();
            for p in &status.peers {
                held.get_or_create(&one("peer", &p.user_id))
                    .set(p.vectors as i64);
            }
            r.register(
                "federation_peer_vectors",
                "Matching vectors held from each peer",
                held,
            );
            r.register(
                "federation_homeserver_up",
                "Whether the homeserver answered the last status check (1) or not (0)",
                gauge(i64::from(status.homeserver_answers)),
            );
        }
    }
}
