//! The exposition as dashboards read it: family names, label sets and values.

use super::*;

/// The value of the sample line `name{labels} value` (labels as rendered).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn every_family_is_exposed_by_its_contract_name() {
    let m = PrometheusMetrics::new();
    m.http_request("GET", "/health", 200, Duration::from_micros(80));
    m.plugin_call(
        TenantId::new(),
        "food",
        Duration::from_micros(80),
        PluginCallOutcome::Ok,
        Some(42_000),
    );
    m.merge_outcomes("combine", &BTreeMap::from([("combined".to_owned(), 1)]));
    let text = m.render();
    for (name, kind) in [
        ("trolley_http_request_duration_seconds", "histogram"),
        ("trolley_cache_requests", "counter"),
        ("trolley_plugin_call_duration_seconds", "histogram"),
        ("trolley_plugin_calls", "counter"),
        ("trolley_plugin_fuel_used", "histogram"),
        ("trolley_merge_outcomes", "counter"),
        ("trolley_reservations", "counter"),
        ("trolley_rate_limited", "counter"),
        ("trolley_swept", "counter"),
        ("trolley_active_carts", "gauge"),
        ("trolley_open_streams", "gauge"),
    ] {
        assert!(
            text.contains(&format!("# TYPE {name} {kind}\n")),
            "{name}: {text}"
        );
    }
    assert!(text.ends_with("# EOF\n"), "{text}");
    // Zero series exist before anything happens.
    assert_eq!(
        sample(&text, "trolley_cache_requests_total{result=\"hit\"}"),
        Some(0.0)
    );
    assert_eq!(
        sample(&text, "trolley_reservations_total{event=\"held\"}"),
        Some(0.0)
    );
    assert_eq!(
        sample(&text, "trolley_rate_limited_total{scope=\"storefront\"}"),
        Some(0.0)
    );
    assert_eq!(
        sample(&text, "trolley_swept_total{kind=\"carts_deleted\"}"),
        Some(0.0)
    );
}

#[test]
fn http_requests_are_labelled_by_route_pattern_and_bounded_method() {
    let m = PrometheusMetrics::new();
    for _ in 0..3 {
        m.http_request(
            "POST",
            "/v1/carts/{cart_id}/lines",
            201,
            Duration::from_micros(300),
        );
    }
    m.http_request("BREW", UNMATCHED_ROUTE, 404, Duration::from_secs(20));
    let text = m.render();
    let labels = r#"{method="POST",route="/v1/carts/{cart_id}/lines",status="201"}"#;
    assert_eq!(
        sample(
            &text,
            &format!("trolley_http_request_duration_seconds_count{labels}")
        ),
        Some(3.0),
        "{text}"
    );
    // 300 µs lands in the 500 µs bucket but not the 250 µs one.
    let bucket = |le: &str| {
        sample(
            &text,
            &format!(
                r#"trolley_http_request_duration_seconds_bucket{{le="{le}",method="POST",route="/v1/carts/{{cart_id}}/lines",status="201"}}"#
            ),
        )
    };
    assert_eq!(bucket("0.00025"), Some(0.0), "{text}");
    assert_eq!(bucket("0.0005"), Some(3.0), "{text}");
    assert_eq!(bucket("+Inf"), Some(3.0), "{text}");
    assert!(
        text.contains(r#"method="OTHER",route="unmatched",status="404""#),
        "{text}"
    );
    assert!(!text.contains("BREW"));
}

#[test]
fn port_events_become_series() {
    let m = PrometheusMetrics::new();
    let tenant = TenantId::new();
    m.plugin_call(
        tenant,
        "grocery",
        Duration::from_micros(120),
        PluginCallOutcome::Ok,
        Some(30_000),
    );
    m.plugin_call(
        tenant,
        "grocery",
        Duration::from_millis(3),
        PluginCallOutcome::Failed,
        None,
    );
    m.merge_outcomes(
        "combine",
        &BTreeMap::from([("combined".to_owned(), 2), ("kept".to_owned(), 1)]),
    );
    m.merge_outcomes("combine", &BTreeMap::from([("combined".to_owned(), 1)]));
    m.reservations(ReservationEvent::Held, 1);
    m.reservations(ReservationEvent::LineHoldExpired, 4);
    m.cache(CacheEvent::Hit);
    m.cache(CacheEvent::Hit);
    m.cache(CacheEvent::Fallback);
    m.rate_limited("tenant");
    m.swept(SweptKind::CheckoutsDeleted, 3);
    m.swept(SweptKind::CheckoutsDeleted, 2);
    m.set_active_carts(42);
    let text = m.render();

    let t = tenant.to_string();
    let expect = [
        (
            format!(
                r#"trolley_plugin_call_duration_seconds_count{{tenant="{t}",order_type="grocery"}}"#
            ),
            2.0,
        ),
        (
            format!(
                r#"trolley_plugin_calls_total{{tenant="{t}",order_type="grocery",outcome="ok"}}"#
            ),
            1.0,
        ),
        (
            format!(
                r#"trolley_plugin_calls_total{{tenant="{t}",order_type="grocery",outcome="failed"}}"#
            ),
            1.0,
        ),
        // Only the metered call is observed; 30,000 lands in the 64,000 bucket.
        (
            format!(r#"trolley_plugin_fuel_used_count{{tenant="{t}",order_type="grocery"}}"#),
            1.0,
        ),
        (
            format!(r#"trolley_plugin_fuel_used_sum{{tenant="{t}",order_type="grocery"}}"#),
            30_000.0,
        ),
        (
            format!(
                r#"trolley_plugin_fuel_used_bucket{{le="16000.0",tenant="{t}",order_type="grocery"}}"#
            ),
            0.0,
        ),
        (
            format!(
                r#"trolley_plugin_fuel_used_bucket{{le="64000.0",tenant="{t}",order_type="grocery"}}"#
            ),
            1.0,
        ),
        (
            r#"trolley_merge_outcomes_total{policy="combine",outcome="combined"}"#.to_owned(),
            3.0,
        ),
        (
            r#"trolley_merge_outcomes_total{policy="combine",outcome="kept"}"#.to_owned(),
            1.0,
        ),
        (
            r#"trolley_reservations_total{event="held"}"#.to_owned(),
            1.0,
        ),
        (
            r#"trolley_reservations_total{event="line_hold_expired"}"#.to_owned(),
            4.0,
        ),
        (
            r#"trolley_cache_requests_total{result="hit"}"#.to_owned(),
            2.0,
        ),
        (
            r#"trolley_cache_requests_total{result="miss"}"#.to_owned(),
            0.0,
        ),
        (
            r#"trolley_cache_requests_total{result="fallback"}"#.to_owned(),
            1.0,
        ),
        (
            r#"trolley_rate_limited_total{scope="tenant"}"#.to_owned(),
            1.0,
        ),
        (
            r#"trolley_swept_total{kind="checkouts_deleted"}"#.to_owned(),
            5.0,
        ),
        ("trolley_active_carts".to_owned(), 42.0),
    ];
    for (series, value) in expect {
        assert_eq!(sample(&text, &series), Some(value), "{series}\n{text}");
    }
}

#[test]
fn unmetered_calls_leave_the_fuel_family_empty() {
    let m = PrometheusMetrics::new();
    m.plugin_call(
        TenantId::new(),
        "food",
        Duration::from_micros(80),
        PluginCallOutcome::Ok,
        None,
    );
    let text = m.render();
    assert!(text.contains("trolley_plugin_call_duration_seconds_count"));
    assert!(!text.contains("trolley_plugin_fuel_used_"), "{text}");
}

#[test]
fn label_values_are_escaped() {
    let m = PrometheusMetrics::new();
    m.merge_outcomes("x\"y", &BTreeMap::from([("a\nb".to_owned(), 1)]));
    let text = m.render();
    assert!(text.contains(r#"policy="x\"y",outcome="a\nb""#), "{text}");
}

#[test]
fn the_outbox_and_its_deliveries_are_exposed() {
    let m = PrometheusMetrics::new();
    let text = m.render();
    // Attempts exist at zero from the start; publishes appear with the first one.
    assert_eq!(
        sample(&text, "trolley_webhook_attempts_total{result=\"dead\"}"),
        Some(0.0)
    );
    m.webhook_attempt("delivered");
    m.webhook_attempt("delivered");
    m.event_published(false);
    m.outbox_backlog(&trolley_core::ports::Backlog {
        undispatched: 3,
        oldest_age: Some(chrono::Duration::milliseconds(1_500)),
        pending_deliveries: 7,
    });
    let text = m.render();
    assert_eq!(
        sample(
            &text,
            "trolley_webhook_attempts_total{result=\"delivered\"}"
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(&text, "trolley_events_published_total{result=\"failed\"}"),
        Some(1.0)
    );
    assert_eq!(sample(&text, "trolley_outbox_undispatched"), Some(3.0));
    assert_eq!(
        sample(&text, "trolley_outbox_oldest_age_seconds"),
        Some(1.5)
    );
    assert_eq!(
        sample(&text, "trolley_webhook_pending_deliveries"),
        Some(7.0)
    );
}
