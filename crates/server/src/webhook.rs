//! A condition's webhook (`flyte.ConditionWebhook`): once the condition is recorded PAUSED,
//! aerie POSTs the webhook's payload as JSON to its URL, with `{callback_uri}` in any string
//! value replaced by a URL that signals this one condition (`web::condition_callback`). The
//! URL is signed with the server's URL key, so whoever holds it can signal that condition and
//! nothing else, without an API key, until the condition's timeout (or 30 days).
//!
//! Delivery is best effort: a few tries with a short timeout, each failure logged; it never
//! fails the condition or the run, and a webhook not yet delivered when aerie stops is not
//! sent again.

use crate::state::AppState;
use aerie_blob::SignedGrant;
use aerie_core::{ActionId, Timestamp};
use buffa_types::google::protobuf::value::Kind;
use buffa_types::google::protobuf::{Struct, Value};
use std::time::Duration;

/// What a payload's strings may name to get the callback URL.
const PLACEHOLDER: &str = "{callback_uri}";
/// How long a callback URL works when the condition has no timeout.
const CALLBACK_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// Tries per webhook.
const TRIES: u32 = 3;
/// How long one try may take.
const TRY_TIMEOUT: Duration = Duration::from_secs(5);

/// The signed grant behind condition `id`'s callback URL, valid until `expires_unix`.
pub fn callback_grant(key: &str, expires_unix: i64) -> SignedGrant<'_> {
    SignedGrant {
        method: "SIGNAL",
        key,
        expires_unix,
        content_md5: "",
    }
}

/// The grant key of condition `id`, as its callback URL's path names it.
pub fn callback_key(id: &ActionId) -> String {
    format!(
        "conditions/{}/{}/{}/{}",
        id.run.project, id.run.domain, id.run.name, id.name
    )
}

/// The URL on `origin` that signals condition `id` until `timeout` after now (or 30 days).
pub fn callback_uri(
    app: &AppState,
    origin: &str,
    id: &ActionId,
    timeout: Option<Duration>,
) -> String {
    let expires_unix = Timestamp::now().as_micros() / 1_000_000
        + i64::try_from(timeout.unwrap_or(CALLBACK_TTL).as_secs()).unwrap_or(i64::MAX / 2);
    let key = callback_key(id);
    let signature = app.signer.sign(&callback_grant(&key, expires_unix));
    format!("{origin}/{key}/signal?expires={expires_unix}&signature={signature}")
}

/// Whether `url` is one aerie will POST to: http or https with a host.
pub fn check_url(url: &str) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|err| format!("webhook url {url:?}: {err}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(format!("webhook url {url:?} must be http(s) with a host"));
    }
    Ok(())
}

/// The payload as JSON, `{callback_uri}` replaced in every string value (keys untouched);
/// integral numbers are written without a fraction, as the SDK user wrote them.
fn payload_json(payload: Option<&Struct>, callback: &str) -> serde_json::Value {
    fn value(item: &Value, callback: &str) -> serde_json::Value {
        match &item.kind {
            None | Some(Kind::NullValue(_)) => serde_json::Value::Null,
            Some(Kind::BoolValue(flag)) => serde_json::Value::Bool(*flag),
            Some(Kind::StringValue(text)) => {
                serde_json::Value::String(text.replace(PLACEHOLDER, callback))
            }
            Some(Kind::NumberValue(number)) => {
                if number.fract() == 0.0 && number.abs() < 9.0e15 {
                    serde_json::Value::from(*number as i64)
                } else {
                    serde_json::Number::from_f64(*number)
                        .map_or(serde_json::Value::Null, serde_json::Value::Number)
                }
            }
            Some(Kind::StructValue(inner)) => object(inner, callback),
            Some(Kind::ListValue(list)) => serde_json::Value::Array(
                list.values
                    .iter()
                    .map(|each| value(each, callback))
                    .collect(),
            ),
        }
    }
    fn object(fields: &Struct, callback: &str) -> serde_json::Value {
        serde_json::Value::Object(
            fields
                .fields
                .iter()
                .map(|(key, item)| (key.clone(), value(item, callback)))
                .collect(),
        )
    }
    payload.map_or_else(
        || serde_json::json!({}),
        |payload| object(payload, callback),
    )
}

/// POSTs the webhook of condition `id` in the background.
pub fn notify(
    app: &AppState,
    id: ActionId,
    url: String,
    payload: Option<Struct>,
    callback: String,
) {
    let body = payload_json(payload.as_ref(), &callback);
    let client = app.webhooks.clone();
    tokio::spawn(async move {
        for attempt in 1..=TRIES {
            let sent = client
                .post(&url)
                .timeout(TRY_TIMEOUT)
                .json(&body)
                .send()
                .await
                .and_then(reqwest::Response::error_for_status);
            match sent {
                Ok(_) => {
                    tracing::info!(run = %id.run, action = %id.name, %url, "condition webhook delivered");
                    return;
                }
                Err(err) => {
                    tracing::warn!(run = %id.run, action = %id.name, %url, attempt, error = %err, "condition webhook failed");
                }
            }
            tokio::time::sleep(Duration::from_secs(u64::from(attempt))).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_gets_the_callback_in_every_string_and_numbers_as_written() {
        let text = |text: &str| Value {
            kind: Some(Kind::StringValue(text.into())),
            ..Default::default()
        };
        let nested = Struct {
            fields: [("cb".to_owned(), text("go to {callback_uri}"))]
                .into_iter()
                .collect(),
            ..Default::default()
        };
        let payload = Struct {
            fields: [
                (
                    "n".to_owned(),
                    Value {
                        kind: Some(Kind::NumberValue(3.0)),
                        ..Default::default()
                    },
                ),
                (
                    "x".to_owned(),
                    Value {
                        kind: Some(Kind::NumberValue(0.5)),
                        ..Default::default()
                    },
                ),
                ("{callback_uri}".to_owned(), text("plain")),
                (
                    "inner".to_owned(),
                    Value {
                        kind: Some(Kind::StructValue(Box::new(nested))),
                        ..Default::default()
                    },
                ),
            ]
            .into_iter()
            .collect(),
            ..Default::default()
        };
        assert_eq!(
            payload_json(Some(&payload), "http://a/b"),
            serde_json::json!({
                "n": 3, "x": 0.5, "{callback_uri}": "plain", "inner": {"cb": "go to http://a/b"}
            })
        );
        assert_eq!(payload_json(None, "http://a/b"), serde_json::json!({}));
    }

    #[test]
    fn only_http_urls_with_a_host_are_posted_to() {
        assert!(check_url("https://hooks.example.com/x").is_ok());
        assert!(check_url("http://127.0.0.1:9/x").is_ok());
        for bad in ["file:///etc/passwd", "ftp://h/x", "not a url", "http://"] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}
