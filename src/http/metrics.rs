//! Prometheus metrics: request counts and latency histograms by route and status.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry, TextEncoder,
};

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    panics: IntCounter,
    /// Webhook delivery attempts by outcome.
    webhooks: IntCounterVec,
    /// Change events numbered by this instance's sequencer.
    sequenced: IntCounter,
    pruned: IntCounter,
    scim_skipped_members: IntCounter,
    /// Requests by the dialect their path belongs to (`other` for none).
    by_dialect: IntCounterVec,
    /// Snapshots of `by_dialect` for the console's request rates.
    rates: std::sync::Arc<parking_lot::Mutex<RateSamples>>,
}

/// The dialect labels of `muster_http_requests_by_dialect_total`, in the order shown.
pub const DIALECT_LABELS: [&str; 9] = [
    "scim", "logto", "domo", "sumo", "adobe", "oauth", "admin", "console", "other",
];

/// Counts of each of [`DIALECT_LABELS`] at an instant.
type Sample = (std::time::Instant, [u64; DIALECT_LABELS.len()]);

/// Snapshots taken when rates are asked for (at most one every [`SAMPLE_EVERY`]), kept for
/// [`RATE_WINDOW`]; the oldest is the baseline of the rates.
struct RateSamples {
    started: std::time::Instant,
    samples: std::collections::VecDeque<Sample>,
}

const SAMPLE_EVERY: std::time::Duration = std::time::Duration::from_secs(5);
const RATE_WINDOW: std::time::Duration = std::time::Duration::from_secs(300);

/// The shortest window a rate per minute is given for: a few seconds' requests are shown as
/// a count over those seconds, not extrapolated to a minute.
pub const MIN_RATE_WINDOW: std::time::Duration = std::time::Duration::from_secs(60);

/// One dialect's requests on this instance: in all since it started, in the window the
/// rates were measured in, and per minute over that window (`None` while it is shorter
/// than [`MIN_RATE_WINDOW`]).
#[derive(Debug, Clone, PartialEq)]
pub struct DialectRate {
    pub dialect: &'static str,
    pub total: u64,
    pub in_window: u64,
    pub per_minute: Option<f64>,
}

/// A new metric, registered.
fn registered<C>(registry: &Registry, metric: prometheus::Result<C>) -> C
where
    C: prometheus::core::Collector + Clone + 'static,
{
    let metric = metric.expect("valid metric");
    registry
        .register(Box::new(metric.clone()))
        .expect("register once");
    metric
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let counter = |name: &str, help: &str| registered(&registry, IntCounter::new(name, help));
        let counters = |name: &str, help: &str, labels: &[&str]| {
            registered(&registry, IntCounterVec::new(Opts::new(name, help), labels))
        };
        let requests = counters(
            "muster_http_requests_total",
            "HTTP requests by route and status",
            &["method", "route", "status"],
        );
        let latency = registered(
            &registry,
            HistogramVec::new(
                HistogramOpts::new(
                    "muster_http_request_duration_seconds",
                    "HTTP request latency by route",
                )
                .buckets(vec![
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ]),
                &["method", "route", "status"],
            ),
        );
        let panics = counter(
            "muster_panics_total",
            "Panics caught while serving a request (answered with 500)",
        );
        let scim_skipped_members = counter(
            "muster_scim_skipped_members_total",
            "Member ids a SCIM group write left out because they name no user or group of \
             the organization (--scim-unknown-members=skip)",
        );
        let webhooks = counters(
            "muster_webhook_deliveries_total",
            "Webhook delivery attempts by outcome: delivered, retry (a timeout, 5xx or \
             429, tried again later), failed (refused for good), given_up (too old)",
            &["outcome"],
        );
        let sequenced = counter(
            "muster_events_sequenced_total",
            "Change events numbered by this instance",
        );
        let pruned = counter(
            "muster_events_pruned_total",
            "Change events deleted by this instance's pruner, older than the retention",
        );
        let by_dialect = counters(
            "muster_http_requests_by_dialect_total",
            "HTTP requests by the dialect of their path (scim, logto, domo, sumo, adobe, \
             oauth, admin, console; other for health, metrics and unmatched paths)",
            &["dialect"],
        );
        Metrics {
            by_dialect,
            rates: std::sync::Arc::new(parking_lot::Mutex::new(RateSamples {
                started: std::time::Instant::now(),
                samples: Default::default(),
            })),
            registry,
            requests,
            latency,
            panics,
            webhooks,
            sequenced,
            pruned,
            scim_skipped_members,
        }
    }

    /// `n` more member ids skipped by SCIM group writes (counted once they are committed).
    pub fn scim_skipped_members(&self, n: u64) {
        if n > 0 {
            self.scim_skipped_members.inc_by(n);
        }
    }

    /// One request served: `dialect` is the one its path belongs to (`None`: `other`).
    pub fn observe(
        &self,
        method: &str,
        route: &str,
        dialect: Option<&str>,
        status: u16,
        seconds: f64,
    ) {
        let d = dialect
            .filter(|d| DIALECT_LABELS.contains(d))
            .unwrap_or("other");
        self.by_dialect.with_label_values(&[d]).inc();
        let status = status.to_string();
        let labels = [method, route, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.latency.with_label_values(&labels).observe(seconds);
    }

    /// One more panic caught by `http::panic::CatchPanics`.
    pub fn panicked(&self) {
        self.panics.inc();
    }

    /// One webhook delivery attempt ended with `outcome`.
    pub fn webhook(&self, outcome: &str) {
        self.webhooks.with_label_values(&[outcome]).inc();
    }

    /// Webhook attempts so far that ended with `outcome`.
    pub fn webhooks(&self, outcome: &str) -> u64 {
        self.webhooks.with_label_values(&[outcome]).get()
    }

    /// `n` more events numbered.
    pub fn sequenced(&self, n: u64) {
        self.sequenced.inc_by(n);
    }

    /// `n` more events pruned.
    pub fn pruned(&self, n: u64) {
        self.pruned.inc_by(n);
    }

    /// Each dialect's requests on this instance, with the rate per minute since the oldest
    /// snapshot of the last five minutes (or since the start, the first time), and the
    /// length of that window.
    pub fn dialect_rates(&self) -> (Vec<DialectRate>, std::time::Duration) {
        let now = std::time::Instant::now();
        let mut counts = [0u64; DIALECT_LABELS.len()];
        for (i, d) in DIALECT_LABELS.iter().enumerate() {
            counts[i] = self.by_dialect.with_label_values(&[d]).get();
        }
        let mut r = self.rates.lock();
        while r.samples.len() > 1
            && r.samples
                .front()
                .is_some_and(|(t, _)| now.duration_since(*t) > RATE_WINDOW)
        {
            r.samples.pop_front();
        }
        let (since, base) = r
            .samples
            .front()
            .copied()
            .unwrap_or((r.started, [0; DIALECT_LABELS.len()]));
        if r.samples
            .back()
            .is_none_or(|(t, _)| now.duration_since(*t) >= SAMPLE_EVERY)
        {
            r.samples.push_back((now, counts));
        }
        drop(r);
        let window = now.duration_since(since);
        let minutes = window.as_secs_f64() / 60.0;
        let rates = DIALECT_LABELS
            .iter()
            .zip(counts.iter().zip(base.iter()))
            .map(|(d, (c, b))| {
                let n = c.saturating_sub(*b);
                DialectRate {
                    dialect: d,
                    total: *c,
                    in_window: n,
                    per_minute: (window >= MIN_RATE_WINDOW).then(|| n as f64 / minutes),
                }
            })
            .collect();
        (rates, window)
    }

    pub fn panics(&self) -> u64 {
        self.panics.get()
    }

    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// One counter in Prometheus text format.
pub fn counter_text(name: &str, help: &str, v: u64) -> String {
    format!("# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}\n")
}

/// The process's own figures under the names every Prometheus client library exports
/// (`process_cpu_seconds_total`, `process_resident_memory_bytes`, …), read from
/// `/proc/self` at each scrape. Empty where there is no `/proc` (not Linux).
pub fn process_text() -> String {
    process_figures().map_or_else(String::new, |f| f.text())
}

/// What `/proc/self` says about this process.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessFigures {
    pub cpu_seconds: f64,
    pub resident_bytes: u64,
    pub virtual_bytes: u64,
    pub start_time_seconds: f64,
    pub open_fds: u64,
    pub max_fds: Option<u64>,
}

impl ProcessFigures {
    fn text(&self) -> String {
        let mut out = String::new();
        let mut one = |name: &str, kind: &str, help: &str, v: String| {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}\n"
            ));
        };
        one(
            "process_cpu_seconds_total",
            "counter",
            "Total user and system CPU time spent in seconds.",
            self.cpu_seconds.to_string(),
        );
        one(
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
            self.open_fds.to_string(),
        );
        if let Some(max) = self.max_fds {
            one(
                "process_max_fds",
                "gauge",
                "Maximum number of open file descriptors.",
                max.to_string(),
            );
        }
        one(
            "process_virtual_memory_bytes",
            "gauge",
            "Virtual memory size in bytes.",
            self.virtual_bytes.to_string(),
        );
        one(
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            self.resident_bytes.to_string(),
        );
        one(
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since unix epoch in seconds.",
            self.start_time_seconds.to_string(),
        );
        out
    }
}

/// `/proc/self/stat` (CPU times, start time, memory), `/proc/self/fd` and
/// `/proc/self/limits`, as the Prometheus client libraries read them.
pub fn process_figures() -> Option<ProcessFigures> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name is in parentheses and may hold spaces: fields follow the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields numbered as in proc(5), from 3 (state) at index 0.
    let field = |n: usize| f.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    // SAFETY: sysconf only reads a configuration value.
    let ticks = match unsafe { libc::sysconf(libc::_SC_CLK_TCK) } {
        t if t > 0 => t as f64,
        _ => 100.0,
    };
    // SAFETY: as above.
    let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        p if p > 0 => p as u64,
        _ => 4096,
    };
    let boot = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("btime "))
            .and_then(|v| v.trim().parse::<u64>().ok())
    })?;
    let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
    let max_fds = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|v| v.parse().ok())
        });
    Some(ProcessFigures {
        cpu_seconds: (field(14)? + field(15)?) as f64 / ticks,
        virtual_bytes: field(23)?,
        resident_bytes: field(24)? * page,
        start_time_seconds: boot as f64 + field(22)? as f64 / ticks,
        open_fds,
        max_fds,
    })
}

/// The store's counters in Prometheus text format. Tests read them around one request to
/// count its database trips and statements; operators watch `prepared` stay flat once warm.
pub fn store_text(stats: &crate::store::StoreStats) -> String {
    let [trips, statements, writes, prepared, panics] = stats.snapshot();
    let mut out = String::new();
    for (name, help, v) in [
        (
            "muster_db_trips_total",
            "Trips to the database (one a request), on the blocking pool or, for short \
             reads on SQLite, on the request's own thread",
            trips,
        ),
        (
            "muster_db_trips_here_total",
            "Trips run on the request's own thread: short reads on SQLite (GET by id, a \
             unique attribute's eq filter)",
            stats.trips_here.load(std::sync::atomic::Ordering::Relaxed),
        ),
        (
            "muster_db_statements_total",
            "SQL statements run",
            statements,
        ),
        (
            "muster_db_writes_total",
            "SQL statements that change rows (INSERT, UPDATE, DELETE)",
            writes,
        ),
        (
            "muster_db_statements_prepared_total",
            "Statements newly prepared into a connection's statement cache",
            prepared,
        ),
        (
            "muster_blocking_panics_total",
            "Panics caught on the blocking pool",
            panics,
        ),
        (
            "muster_passwords_hashed_in_transaction_total",
            "Passwords hashed while a write transaction was open (holding its locks); \
             expected to stay 0",
            stats
                .hashed_in_transaction
                .load(std::sync::atomic::Ordering::Relaxed),
        ),
    ] {
        out.push_str(&counter_text(name, help, v));
    }
    out
}

/// The line in front of the connection pool: connections in use, requests waiting for one,
/// and requests refused with 503 because the line was full or the wait ran out.
pub fn queue_text(load: crate::store::GateLoad) -> String {
    gate_text(
        load,
        [
            (
                "muster_db_connections_in_use",
                "Database connections held by requests",
            ),
            (
                "muster_db_queue_waiting",
                "Requests waiting for a database connection",
            ),
            (
                "muster_db_queue_refused_total",
                "Requests refused with 503: the line for a connection was full or the wait ran out",
            ),
        ],
    )
}

/// The same for the hashing slots (one per core) that password-setting requests wait for.
pub fn hashing_text(load: crate::store::GateLoad) -> String {
    gate_text(
        load,
        [
            (
                "muster_hashing_in_use",
                "Hashing slots held by password-setting requests",
            ),
            (
                "muster_hashing_queue_waiting",
                "Password-setting requests waiting for a hashing slot",
            ),
            (
                "muster_hashing_queue_refused_total",
                "Password-setting requests refused with 503: the line was full or the wait ran out",
            ),
        ],
    )
}

fn gate_text(load: crate::store::GateLoad, names: [(&str, &str); 3]) -> String {
    let [(in_use, in_use_help), (waiting, waiting_help), (refused, refused_help)] = names;
    let mut out = String::new();
    for (name, kind, help, v) in [
        (in_use, "gauge", in_use_help, load.in_use as u64),
        (waiting, "gauge", waiting_help, load.waiting as u64),
        (refused, "counter", refused_help, load.refused),
    ] {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}\n"
        ));
    }
    out
}

/// Route labels for the request metrics, with bounded cardinality and naming no tenant: a
/// path segment is kept only if it is a fixed word of the route tree; anything else (ids,
/// emails, page numbers, organization ids, group names) becomes `{id}`. `/metrics` needs no
/// credential, so a label must not carry a tenant's organization id or group names.
pub struct RouteLabels {
    /// Every segment of every path in the API description that is not a parameter.
    words: std::collections::HashSet<String>,
    /// Which paths belong to a dialect (a 404 elsewhere is labelled `unmatched`).
    shapes: super::errors::ErrorShapes,
}

impl RouteLabels {
    /// Words from the OpenAPI description `spec` (JSON) plus `extra` for routes outside it.
    pub fn new(spec: &str, extra: &[&str], shapes: super::errors::ErrorShapes) -> RouteLabels {
        let spec: serde_json::Value = serde_json::from_str(spec).unwrap_or_default();
        let mut words: std::collections::HashSet<String> = spec["paths"]
            .as_object()
            .into_iter()
            .flat_map(|paths| paths.keys())
            .flat_map(|p| p.split('/'))
            .filter(|seg| !seg.is_empty() && !seg.starts_with('{'))
            .map(str::to_string)
            .collect();
        words.extend(extra.iter().map(|w| w.to_string()));
        RouteLabels { words, shapes }
    }

    /// The dialect `path` belongs to, if any.
    pub fn dialect(&self, path: &str) -> Option<&'static str> {
        self.shapes.dialect_of(path)
    }

    pub fn label(&self, path: &str, status: u16) -> String {
        if status == 404 && self.shapes.dialect_of(path).is_none() {
            return "unmatched".into();
        }
        let mut out = String::new();
        for (i, seg) in path.split('/').filter(|s| !s.is_empty()).enumerate() {
            if i >= 6 {
                out.push_str("/…");
                break;
            }
            out.push('/');
            if self.words.contains(seg) {
                out.push_str(seg);
            } else {
                out.push_str("{id}");
            }
        }
        if out.is_empty() {
            out.push('/');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn requests_are_counted_by_dialect_with_a_rate() {
        let m = super::Metrics::new();
        for _ in 0..3 {
            m.observe("GET", "/scim/v2/Users", Some("scim"), 200, 0.001);
        }
        m.observe("GET", "/v1/users", Some("domo"), 200, 0.001);
        m.observe("GET", "/healthz", None, 200, 0.001);
        m.observe("GET", "/x", Some("not-a-dialect"), 404, 0.001);
        let (rates, window) = m.dialect_rates();
        let of = |d: &str| rates.iter().find(|r| r.dialect == d).unwrap().clone();
        assert_eq!(rates.len(), super::DIALECT_LABELS.len());
        assert_eq!(of("scim").total, 3);
        assert_eq!(of("domo").total, 1);
        assert_eq!(of("other").total, 2);
        assert_eq!(of("logto").total, 0);
        // The first window is since the start, under a second here: too short for a rate
        // per minute (3 requests are not extrapolated to 180 a minute), so the count only.
        assert!(window.as_secs() < 5);
        assert_eq!((of("scim").in_window, of("scim").per_minute), (3, None));
        // The second look is against the first snapshot: nothing new.
        let (rates, _) = m.dialect_rates();
        let scim = rates.iter().find(|r| r.dialect == "scim").unwrap();
        assert_eq!((scim.total, scim.in_window, scim.per_minute), (3, 0, None));
        assert!(m
            .render()
            .contains("muster_http_requests_by_dialect_total{dialect=\"scim\"} 3"));
    }

    fn route_label(path: &str, status: u16) -> String {
        let config = crate::config::Config::for_base_url("http://127.0.0.1").expect("literal URL");
        super::RouteLabels::new(
            &crate::openapi(&config).spec(),
            crate::UNDESCRIBED_ROUTE_WORDS,
            crate::error_shapes(),
        )
        .label(path, status)
    }

    #[test]
    fn labels_hide_ids() {
        assert_eq!(
            route_label("/scim/v2/Users/00000000000000AB", 200),
            "/scim/v2/Users/{id}"
        );
        assert_eq!(
            route_label("/v2/usermanagement/users/12345ABC@AdobeOrg/0", 200),
            "/v2/usermanagement/users/{id}/{id}"
        );
        assert_eq!(route_label("/v1/users/959463190", 200), "/v1/users/{id}");
        assert_eq!(route_label("/nothing/here", 404), "unmatched");
        assert_eq!(route_label("/", 200), "/");
        // Organization ids and group names are not route words, however wordy.
        assert_eq!(
            route_label("/v2/usermanagement/users/acme/0/Admins", 200),
            "/v2/usermanagement/users/{id}/{id}/{id}"
        );
        assert_eq!(
            route_label("/api/v1/organizations/acme-child/accessKey", 200),
            "/api/v1/organizations/{id}/accessKey"
        );
        assert_eq!(
            route_label("/api/users/00000000000000AB/identities/github", 200),
            "/api/users/{id}/identities/{id}"
        );
    }
}
