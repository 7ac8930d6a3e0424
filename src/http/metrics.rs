//! `GET /metrics`: the service's counters in the Prometheus text format, kept
//! and encoded by the `prometheus` crate (no hand-written exposition).

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

/// The upper bounds of the latency histograms, in seconds: from a cached read
/// (well under a millisecond) to the request timeout.
const LATENCY_BUCKETS_SECONDS: &[f64] = &[
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    10.0, 40.0,
];

/// The service's metrics.
pub struct Metrics {
    registry: Registry,
    /// Requests by route template, method and status.
    pub requests: IntCounterVec,
    /// Latency by route template and method, in seconds.
    pub latency: HistogramVec,
    /// Events appended by the service's commands.
    pub appended_events: IntCounter,
    /// Commands accepted by the service.
    pub accepted_commands: IntCounter,
    /// The ledger's head position.
    pub head_position: IntGauge,
    /// Events the materialized projections have not folded yet: the head
    /// position minus the position their rows cover.
    pub projection_lag: IntGauge,
}

impl Metrics {
    /// The metrics, registered.
    ///
    /// # Errors
    /// A metric that does not register (a name given twice).
    pub fn new() -> prometheus::Result<Metrics> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("navigo_http_requests_total", "HTTP requests answered"),
            &["route", "method", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "navigo_http_request_duration_seconds",
                "Time from a request's arrival to its answer",
            )
            .buckets(LATENCY_BUCKETS_SECONDS.to_vec()),
            &["route", "method"],
        )?;
        let appended_events = IntCounter::new(
            "navigo_ledger_appended_events_total",
            "Events appended by commands submitted to the service",
        )?;
        let accepted_commands = IntCounter::new(
            "navigo_ledger_accepted_commands_total",
            "Commands accepted by the service",
        )?;
        let head_position = IntGauge::new(
            "navigo_ledger_head_position",
            "Position of the last event of the log",
        )?;
        let projection_lag = IntGauge::new(
            "navigo_projection_lag_events",
            "Events appended that the materialized projections have not folded yet",
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(appended_events.clone()))?;
        registry.register(Box::new(accepted_commands.clone()))?;
        registry.register(Box::new(head_position.clone()))?;
        registry.register(Box::new(projection_lag.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            appended_events,
            accepted_commands,
            head_position,
            projection_lag,
        })
    }

    /// The text exposition of every metric.
    ///
    /// # Errors
    /// An encoding failure.
    pub fn encode(&self) -> Result<String, String> {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .map_err(|e| e.to_string())?;
        String::from_utf8(out).map_err(|e| e.to_string())
    }
}

/// Converts a count to a gauge value (saturating: a position never reaches it).
pub fn gauge(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
