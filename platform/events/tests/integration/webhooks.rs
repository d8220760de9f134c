//! `HttpWebhookSender` against a receiver on 127.0.0.1.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;
use tokio::net::TcpListener;
use trolley_core::domain::webhook::RESPONSE_EXCERPT_BYTES;
use trolley_core::domain::{Event, TenantId, WebhookSecret};
use trolley_core::ports::{WebhookRequest, WebhookSender};
use trolley_events::HttpWebhookSender;

use crate::support::{Answer, Receiver, event, timestamp};

const WAIT: Duration = Duration::from_secs(5);

fn request<'a>(
    url: &'a str,
    event: &'a Event,
    body: &'a [u8],
    secrets: &'a [WebhookSecret],
    timeout: Duration,
) -> WebhookRequest<'a> {
    WebhookRequest {
        url,
        event,
        body,
        secrets,
        timestamp: timestamp(),
        timeout,
    }
}

/// A receiver's check, written from the Standard Webhooks spec rather than with the
/// crate's own signing code: any `v1,` signature of the header must match.
fn verifies(secret: &WebhookSecret, id: &str, ts: &str, body: &[u8], header: &str) -> bool {
    let mut mac = Hmac::<Sha256>::new_from_slice(&secret.key()).expect("any key length");
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    header
        .split(' ')
        .any(|s| s.strip_prefix("v1,") == Some(expected.as_str()))
}

#[tokio::test]
async fn a_delivery_is_a_signed_post_with_standard_webhooks_headers() {
    let mut receiver = Receiver::start(Answer::status(200, "thanks")).await;
    let sender = HttpWebhookSender::new(true).expect("client");
    let event = event(TenantId::new());
    let body = event.to_json();
    let current = WebhookSecret::generate();
    let previous = WebhookSecret::generate();
    let secrets = [current.clone(), previous.clone()];
    let url = receiver.url("/hooks/trolley?token=abc");

    let attempt = sender
        .send(request(&url, &event, &body, &secrets, WAIT))
        .await;

    assert!(attempt.succeeded(), "{attempt:?}");
    assert_eq!(attempt.status_code, Some(200));
    assert_eq!(attempt.error, None);
    assert_eq!(attempt.response_excerpt.as_deref(), Some("thanks"));
    assert!(attempt.latency_ms >= 0);
    assert!((chrono::Utc::now() - attempt.at).num_seconds() < 10);

    let got = receiver
        .next(WAIT)
        .await
        .expect("the receiver got the request");
    assert_eq!(got.method, "POST");
    assert_eq!(got.path, "/hooks/trolley?token=abc");
    assert_eq!(got.body, body);
    let header = |name: &str| got.headers.get(name).cloned().unwrap_or_default();
    assert_eq!(header("content-type"), "application/json");
    assert_eq!(header("user-agent"), "Trolley-Webhooks/1");
    assert_eq!(header("webhook-id"), event.id.to_string());
    assert_eq!(header("webhook-timestamp"), "1767225600");
    let signature = header("webhook-signature");
    assert_eq!(signature.split(' ').count(), 2, "{signature}");
    for secret in [&current, &previous] {
        assert!(
            verifies(
                secret,
                &header("webhook-id"),
                "1767225600",
                &got.body,
                &signature
            ),
            "{signature}"
        );
    }
    assert!(!verifies(
        &WebhookSecret::generate(),
        &header("webhook-id"),
        "1767225600",
        &got.body,
        &signature
    ));
}

#[tokio::test]
async fn a_server_error_is_a_failed_attempt_with_its_status_and_answer() {
    let receiver = Receiver::start(Answer::status(500, "database on fire")).await;
    let sender = HttpWebhookSender::new(true).expect("client");
    let event = event(TenantId::new());
    let body = event.to_json();
    let secrets = [WebhookSecret::generate()];
    let url = receiver.url("/");

    let attempt = sender
        .send(request(&url, &event, &body, &secrets, WAIT))
        .await;

    assert!(!attempt.succeeded());
    assert_eq!(attempt.status_code, Some(500));
    assert_eq!(attempt.error.as_deref(), Some("receiver answered 500"));
    assert_eq!(
        attempt.response_excerpt.as_deref(),
        Some("database on fire")
    );
}

#[tokio::test]
async fn a_slow_receiver_times_out() {
    let mut answer = Answer::status(200, "late");
    answer.delay = Duration::from_secs(3);
    let receiver = Receiver::start(answer).await;
    let sender = HttpWebhookSender::new(true).expect("client");
    let event = event(TenantId::new());
    let body = event.to_json();
    let secrets = [WebhookSecret::generate()];
    let url = receiver.url("/");

    let attempt = sender
        .send(request(
            &url,
            &event,
            &body,
            &secrets,
            Duration::from_millis(300),
        ))
        .await;

    assert!(!attempt.succeeded());
    assert_eq!(attempt.status_code, None);
    assert_eq!(attempt.error.as_deref(), Some("timed out after 300 ms"));
    assert!(
        (250..2_500).contains(&attempt.latency_ms),
        "{}",
        attempt.latency_ms
    );
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let mut answer = Answer::status(302, "");
    answer
        .extra_headers
        .push(("location".to_owned(), "http://169.254.169.254/".to_owned()));
    let receiver = Receiver::start(answer).await;
    let sender = HttpWebhookSender::new(true).expect("client");
    let event = event(TenantId::new());
    let body = event.to_json();
    let url = receiver.url("/");

    let attempt = sender.send(request(&url, &event, &body, &[], WAIT)).await;

    assert!(!attempt.succeeded());
    assert_eq!(attempt.status_code, Some(302));
    assert_eq!(
        attempt.error.as_deref(),
        Some("receiver answered 302; redirects are not followed")
    );
    assert_eq!(attempt.response_excerpt, None);
}

#[tokio::test]
async fn only_the_start_of_a_large_answer_is_kept() {
    let mut answer = Answer::status(200, "");
    answer.body = vec![b'x'; 4 * 1024 * 1024];
    let receiver = Receiver::start(answer).await;
    let sender = HttpWebhookSender::new(true).expect("client");
    let event = event(TenantId::new());
    let body = event.to_json();
    let url = receiver.url("/");

    let attempt = sender.send(request(&url, &event, &body, &[], WAIT)).await;

    assert!(attempt.succeeded(), "{attempt:?}");
    let excerpt = attempt.response_excerpt.expect("an excerpt");
    assert_eq!(excerpt.len(), RESPONSE_EXCERPT_BYTES);
}

#[tokio::test]
async fn a_closed_port_is_connection_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let sender = HttpWebhookSender::new(true).expect("client");
    let event = event(TenantId::new());
    let body = event.to_json();
    let url = format!("http://{addr}/");

    let attempt = sender.send(request(&url, &event, &body, &[], WAIT)).await;

    assert_eq!(attempt.status_code, None);
    assert_eq!(attempt.error.as_deref(), Some("connection refused"));
}

#[tokio::test]
async fn private_destinations_are_refused_unless_allowed() {
    let mut receiver = Receiver::start(Answer::status(200, "ok")).await;
    let strict = HttpWebhookSender::new(false).expect("client");
    let event = event(TenantId::new());
    let body = event.to_json();
    let secrets = [WebhookSecret::generate()];

    for url in [
        receiver.url("/"),
        format!("http://localhost:{}/", receiver.addr.port()),
    ] {
        let refusal = strict
            .check_destination(&url)
            .await
            .expect_err("a loopback receiver is refused");
        assert!(refusal.contains("private"), "{refusal}");

        let attempt = strict
            .send(request(&url, &event, &body, &secrets, WAIT))
            .await;
        assert_eq!(attempt.status_code, None);
        let error = attempt.error.expect("refused");
        assert!(error.starts_with("refused: "), "{error}");
        assert!(error.contains("private address"), "{error}");
    }
    assert!(
        receiver.next(Duration::from_millis(300)).await.is_none(),
        "a refused delivery must not reach the receiver"
    );

    let lenient = HttpWebhookSender::new(true).expect("client");
    assert_eq!(lenient.check_destination(&receiver.url("/")).await, Ok(()));
    let attempt = lenient
        .send(request(&receiver.url("/"), &event, &body, &secrets, WAIT))
        .await;
    assert!(attempt.succeeded(), "{attempt:?}");
}

#[tokio::test]
async fn a_host_that_does_not_resolve_is_reported() {
    let strict = HttpWebhookSender::new(false).expect("client");
    let refusal = tokio::time::timeout(
        Duration::from_secs(20),
        strict.check_destination("https://no-such-host.invalid/hooks"),
    )
    .await
    .expect("resolution ends")
    .expect_err("does not resolve");
    assert!(
        refusal.contains("no-such-host.invalid does not resolve"),
        "{refusal}"
    );
}
