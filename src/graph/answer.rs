//! One HTTP answer of Graph or of the identity platform, read the same way for both: status,
//! `Retry-After`, `request-id` and a bounded body, and the error code and message either service
//! puts in an error body.

use std::time::Duration;

use serde_json::Value;

/// The largest response body read (a page of 999 users with every property is a few MB).
const MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;

/// A successful answer: status and body (`Null` for an empty body).
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) retry_after: Option<Duration>,
    pub(super) body: Value,
    /// The body text, when it was not JSON (error pages of proxies).
    pub(super) text: String,
    /// Graph's `request-id` header.
    pub(super) request_id: Option<String>,
}

/// Reads status, `Retry-After` and body of a response. With `parse` false a successful answer
/// keeps only its text (`body` is `Null`), for a caller that deserializes the text itself;
/// errors are always parsed for their code and message.
pub(super) fn read_answer(
    mut response: ureq::http::Response<ureq::Body>,
    parse: bool,
) -> Result<Answer, String> {
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string)
    };
    let retry_after = header("retry-after").as_deref().and_then(parse_retry_after);
    // Graph's header; the identity platform names it x-ms-request-id.
    let request_id = header("request-id").or_else(|| header("x-ms-request-id"));
    let text = response
        .body_mut()
        .with_config()
        .limit(MAX_RESPONSE_BYTES)
        .read_to_string()
        .map_err(|error| error.to_string())?;
    let body = if text.trim().is_empty() || (!parse && (200..300).contains(&status)) {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::Null)
    };
    Ok(Answer {
        status,
        retry_after,
        body,
        text,
        request_id,
    })
}

/// `Retry-After` in seconds (the form Graph uses); HTTP dates are left to the backoff.
pub(super) fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Graph's `{"error": {"code", "message"}}` and the identity platform's
/// `{"error", "error_description"}`.
pub(super) fn graph_error_fields(body: &Value) -> (Option<String>, Option<String>) {
    match body.get("error") {
        Some(Value::Object(error)) => (
            error
                .get("code")
                .and_then(Value::as_str)
                .map(str::to_string),
            error
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_string),
        ),
        Some(Value::String(code)) => (
            Some(code.clone()),
            body.get("error_description")
                .and_then(Value::as_str)
                .map(str::to_string),
        ),
        _ => (None, None),
    }
}
