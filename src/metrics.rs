//! Prometheus metrics: webhook intake, verification failures, the inbox and the handlers.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::gitlab::hooks::EventKind;

/// Generates a label enum: variants and their label text.
macro_rules! label_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The label text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }
    };
}

label_enum!(
    /// What the intake did with a verified delivery (`outcome` of
    /// `backline_webhook_deliveries_total`).
    Intake {
        /// Stored; a worker will run it.
        Accepted = "accepted",
        /// Already stored.
        Duplicate = "duplicate",
        /// Not something the bot acts on.
        Ignored = "ignored",
    }
);

label_enum!(
    /// Why a body was refused (`reason` of `backline_webhook_rejected_total`).
    Rejected {
        /// Over the size cap.
        TooLarge = "too_large",
        /// Too many unverified bodies at once.
        UnverifiedBudget = "unverified_budget",
        /// The body did not arrive in time.
        ReadTimeout = "read_timeout",
        /// The body could not be read.
        ReadError = "read_error",
        /// Not JSON.
        NotJson = "not_json",
        /// The store failed.
        StoreError = "store_error",
        /// The inbox is at its disk cap.
        InboxFull = "inbox_full",
    }
);

label_enum!(
    /// How a handler run ended (`result` of `backline_handler_runs_total`).
    Handled {
        /// Done.
        Done = "done",
        /// Failed; another attempt is scheduled (or parked for a rate limit).
        Retry = "retry",
        /// Given up on: a dead letter.
        Dead = "dead",
    }
);

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

/// Labels by periodic job.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    /// The job (`catalog_sync`, `advisory_sync`, `schedule_tick`, `prune`).
    pub job: String,
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
    periodic_runs: Family<JobLabels, Counter>,
    periodic_held: Family<JobLabels, Gauge>,
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
        let periodic_runs = Family::<JobLabels, Counter>::default();
        registry.register(
            "periodic_runs",
            "Runs of each periodic job started on this replica (on PostgreSQL one replica at a time holds a job)",
            periodic_runs.clone(),
        );
        let periodic_held = Family::<JobLabels, Gauge>::default();
        registry.register(
            "periodic_held",
            "1 while this replica holds the periodic job (always on sled)",
            periodic_held.clone(),
        );
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
            periodic_runs,
            periodic_held,
        }
    }

    /// Starts the periodic jobs' counters and gauges at zero.
    pub fn start_periodic_jobs(&self, jobs: &[&str]) {
        for job in jobs {
            let labels = JobLabels {
                job: job.to_string(),
            };
            self.periodic_runs.get_or_create(&labels).inc_by(0);
            self.periodic_held.get_or_create(&labels).set(0);
        }
    }

    /// Counts a run of a periodic job on this replica.
    pub fn periodic_run(&self, job: &str) {
        self.periodic_runs
            .get_or_create(&JobLabels {
                job: job.to_string(),
            })
            .inc();
    }

    /// Whether this replica holds a periodic job now.
    pub fn set_periodic_held(&self, job: &str, held: bool) {
        self.periodic_held
            .get_or_create(&JobLabels {
                job: job.to_string(),
            })
            .set(i64::from(held));
    }

    /// Starts the verification failure counters of these reasons at zero (the webhook
    /// verifier knows them; the metrics do not depend on it).
    pub fn start_verification_failures(&self, reasons: &[&str]) {
        for reason in reasons {
            self.verification_failures
                .get_or_create(&ReasonLabels {
                    reason: reason.to_string(),
                })
                .inc_by(0);
        }
    }

    /// Counts a verified delivery's intake outcome.
    pub fn delivery(&self, kind: Option<EventKind>, outcome: Intake) {
        self.deliveries
            .get_or_create(&DeliveryLabels {
                kind: kind.map_or("unknown", EventKind::as_str).to_string(),
                outcome: outcome.as_str().to_string(),
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
    pub fn rejected(&self, reason: Rejected) {
        self.rejected
            .get_or_create(&ReasonLabels {
                reason: reason.as_str().to_string(),
            })
            .inc();
    }

    /// Counts a handler run and its duration.
    pub fn handled(&self, kind: EventKind, result: Handled, seconds: f64) {
        self.handled
            .get_or_create(&HandlerLabels {
                kind: kind.as_str().to_string(),
                result: result.as_str().to_string(),
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
        m.start_verification_failures(&["invalid_token", "stale_timestamp"]);
        assert!(m.render().contains(
            "backline_webhook_verification_failures_total{reason=\"stale_timestamp\"} 0"
        ));
        m.delivery(Some(EventKind::Push), Intake::Accepted);
        m.verification_failure("invalid_token");
        m.handled(EventKind::Note, Handled::Done, 0.002);
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
