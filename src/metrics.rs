//! Prometheus metrics: webhook intake, verification failures, the inbox and the handlers.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::gitlab::hooks::EventKind;

/// Labels of intake results.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    /// Event kind, or `unknown`.
    pub kind: String,
    /// `accepted`, `duplicate` or `ignored`.
    pub outcome: String,
}

/// Labels of rejections.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    /// Why.
    pub reason: String,
}

/// Labels of handler runs.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HandlerLabels {
    /// Event kind.
    pub kind: String,
    /// `done`, `retry` or `dead`.
    pub result: String,
}

/// Labels by event kind.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// Event kind.
    pub kind: String,
}

/// All of backline's metrics, registered once.
pub struct Metrics {
    registry: Registry,
    deliveries: Family<DeliveryLabels, Counter>,
    verification_failures: Family<ReasonLabels, Counter>,
    rejected: Family<ReasonLabels, Counter>,
    handled: Family<HandlerLabels, Counter>,
    handler_seconds: Family<KindLabels, Histogram>,
    inbox_depth: Gauge,
    dead_letters: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("backline");
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        registry.register(
            "webhook_deliveries",
            "Webhook deliveries that passed verification, by event kind and outcome",
            deliveries.clone(),
        );
        let verification_failures = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "webhook_verification_failures",
            "Webhook deliveries refused with 401, by reason",
            verification_failures.clone(),
        );
        let rejected = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "webhook_rejected",
            "Webhook deliveries refused for their body (too_large, not_json, read_error) or a store failure (store_error)",
            rejected.clone(),
        );
        let handled = Family::<HandlerLabels, Counter>::default();
        registry.register(
            "deliveries_handled",
            "Handler runs by event kind and result (done, retry, dead)",
            handled.clone(),
        );
        let handler_seconds = Family::<KindLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        registry.register(
            "handler_duration_seconds",
            "Time spent in a handler, by event kind",
            handler_seconds.clone(),
        );
        let inbox_depth = Gauge::default();
        registry.register(
            "inbox_depth",
            "Deliveries accepted and not yet finished",
            inbox_depth.clone(),
        );
        let dead_letters = Gauge::default();
        registry.register(
            "dead_letters",
            "Deliveries given up on, waiting for a retry",
            dead_letters.clone(),
        );
        for reason in crate::http::verify::VerifyError::LABELS {
            verification_failures
                .get_or_create(&ReasonLabels {
                    reason: reason.to_string(),
                })
                .inc_by(0);
        }
        for kind in EventKind::ALL {
            deliveries
                .get_or_create(&DeliveryLabels {
                    kind: kind.as_str().to_string(),
                    outcome: "accepted".to_string(),
                })
                .inc_by(0);
        }
        Metrics {
            registry,
            deliveries,
            verification_failures,
            rejected,
            handled,
            handler_seconds,
            inbox_depth,
            dead_letters,
        }
    }

    /// Counts a verified delivery's intake outcome.
    pub fn delivery(&self, kind: Option<EventKind>, outcome: &str) {
        self.deliveries
            .get_or_create(&DeliveryLabels {
                kind: kind.map_or("unknown", EventKind::as_str).to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// Counts a verification failure.
    pub fn verification_failure(&self, reason: &'static str) {
        self.verification_failures
            .get_or_create(&ReasonLabels {
                reason: reason.to_string(),
            })
            .inc();
    }

    /// Counts a rejected body.
    pub fn rejected(&self, reason: &'static str) {
        self.rejected
            .get_or_create(&ReasonLabels {
                reason: reason.to_string(),
            })
            .inc();
    }

    /// Counts a handler run and its duration.
    pub fn handled(&self, kind: EventKind, result: &'static str, seconds: f64) {
        self.handled
            .get_or_create(&HandlerLabels {
                kind: kind.as_str().to_string(),
                result: result.to_string(),
            })
            .inc();
        self.handler_seconds
            .get_or_create(&KindLabels {
                kind: kind.as_str().to_string(),
            })
            .observe(seconds);
    }

    /// Sets the inbox depth.
    pub fn set_inbox_depth(&self, depth: usize) {
        self.inbox_depth.set(depth as i64);
    }

    /// Sets the number of dead letters.
    pub fn set_dead_letters(&self, count: usize) {
        self.dead_letters.set(count as i64);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_with_labels() {
        let m = Metrics::new();
        m.delivery(Some(EventKind::Push), "accepted");
        m.verification_failure("invalid_token");
        m.handled(EventKind::Note, "done", 0.002);
        m.set_inbox_depth(3);
        let text = m.render();
        assert!(
            text.contains(
                "backline_webhook_deliveries_total{kind=\"push\",outcome=\"accepted\"} 1"
            ),
            "{text}"
        );
        assert!(text
            .contains("backline_webhook_verification_failures_total{reason=\"invalid_token\"} 1"));
        assert!(text.contains("backline_inbox_depth 3"));
        assert!(text.contains("backline_handler_duration_seconds_count{kind=\"note\"} 1"));
    }
}
