//! [`GraphClient`]: blocking HTTPS to Microsoft Graph with ureq (rustls). It owns the access
//! token (requested with client credentials, cached for its lifetime), retries 429 and 5xx
//! answers honouring `Retry-After` with capped exponential backoff, follows `@odata.nextLink`
//! pages (only within the configured Graph URL, so the token never leaves for another host), and
//! sends `$batch` requests of at most 20 with a bounded number in flight.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::auth::request_token;
use super::error::{GraphError, GraphErrorKind};
use super::secret::Secret;
use super::settings::GraphSettings;
use crate::tenant::graph_import::GraphPage;

/// The largest response body read (a page of 999 users with every property is a few MB).
const MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;

/// The most pages one collection may have: 10 million objects at 999 a page, and a guard
/// against a server that never stops paging.
const MAX_PAGES: usize = 10_000;

/// Graph's limit of requests in one `$batch`.
pub const BATCH_LIMIT: usize = 20;

/// An HTTP method the client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
}

impl Method {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// One inner request of a `$batch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRequest {
    /// The request's id within the batch.
    pub id: String,
    /// The path and query relative to the Graph version (`/groups/{id}/members?$select=id`).
    pub url: String,
}

/// One inner response of a `$batch`.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchResponse {
    /// The id of the request it answers.
    pub id: String,
    /// The inner status.
    pub status: u16,
    /// The inner `Retry-After`, when the inner request was throttled.
    pub retry_after: Option<Duration>,
    /// The inner body.
    pub body: Value,
}

struct CachedToken {
    token: Secret,
    refresh_at: Instant,
}

/// A blocking Microsoft Graph client. It is `Sync`: threads may share one client (and its token).
pub struct GraphClient {
    settings: GraphSettings,
    agent: ureq::Agent,
    token: Mutex<Option<CachedToken>>,
    progress: indicatif::ProgressBar,
}

impl std::fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphClient")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// A successful answer: status and body (`Null` for an empty body).
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) retry_after: Option<Duration>,
    pub(super) body: Value,
    /// The body text, when it was not JSON (error pages of proxies).
    pub(super) text: String,
}

impl GraphClient {
    /// A client for `settings`. No request is made until the first call.
    pub fn new(settings: GraphSettings) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(settings.timeout))
            .user_agent(concat!("seatplan/", env!("CARGO_PKG_VERSION")))
            .build();
        GraphClient {
            agent: ureq::Agent::new_with_config(config),
            settings,
            token: Mutex::new(None),
            progress: indicatif::ProgressBar::hidden(),
        }
    }

    /// Shows a spinner on stderr while reading (pages and member batches read so far). Only for a
    /// terminal: the bar draws nothing when stderr is not one, and never prints secrets.
    pub fn with_progress(mut self) -> Self {
        let bar =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {msg}: {pos} pages read ({elapsed})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        self.progress = bar;
        self
    }

    /// Names the current phase of a read on the progress bar.
    pub(super) fn progress_phase(&self, phase: &'static str) {
        self.progress.set_message(phase);
    }

    /// Removes the progress bar from the terminal.
    pub(super) fn progress_done(&self) {
        self.progress.finish_and_clear();
    }

    /// The settings the client was made with.
    pub fn settings(&self) -> &GraphSettings {
        &self.settings
    }

    /// Removes the client's secrets from `text`.
    fn scrub(&self, text: &str) -> String {
        let mut text = match &self.settings.credential {
            super::settings::Credential::ClientSecret(secret) => secret.scrub(text),
            super::settings::Credential::Certificate(_) => text.to_string(),
        };
        if let Ok(guard) = self.token.lock() {
            if let Some(cached) = guard.as_ref() {
                text = cached.token.scrub(&text);
            }
        }
        text
    }

    /// The cached access token, or a new one when there is none or it is about to expire.
    fn access_token(&self) -> Result<Secret, GraphError> {
        let mut guard = self.token.lock().map_err(|_| {
            GraphError::new(
                GraphErrorKind::Auth,
                "token cache",
                "a thread panicked while holding the token",
            )
        })?;
        if let Some(cached) = guard.as_ref() {
            if Instant::now() < cached.refresh_at {
                return Ok(cached.token.clone());
            }
        }
        let (token, lifetime) = request_token(&self.agent, &self.settings)?;
        // Refresh five minutes early (or halfway through a short lifetime).
        let margin = Duration::from_secs(300).min(lifetime / 2);
        *guard = Some(CachedToken {
            token: token.clone(),
            refresh_at: Instant::now() + lifetime - margin,
        });
        Ok(token)
    }

    fn forget_token(&self) {
        if let Ok(mut guard) = self.token.lock() {
            *guard = None;
        }
    }

    /// `/groups?$select=…` → the absolute URL under the Graph base.
    pub fn url(&self, relative: &str) -> String {
        format!("{}{relative}", self.settings.graph_base)
    }

    /// The request as shown in errors: method and path relative to the Graph base.
    fn describe(&self, method: Method, url: &str) -> String {
        let relative = url.strip_prefix(&self.settings.graph_base).unwrap_or(url);
        format!("{} {relative}", method.as_str())
    }

    /// Sends one request with retries; returns the body of a 2xx answer or the error.
    pub fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Value, GraphError> {
        let request = self.describe(method, url);
        let policy = self.settings.retry;
        // Creating a group is not idempotent: a 5xx or a lost answer may hide a group that was
        // created, and a retry would create a second one. Only throttling (429, 503 with
        // Retry-After, answered before the request is processed) is retried for it; the other
        // calls set a state and can be repeated safely.
        let creates = method == Method::Post && url.trim_end_matches('/').ends_with("/groups");
        let mut renewed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let token = self.access_token()?;
            let outcome = self.exchange(method, url, body, &token);
            let last = attempt >= policy.max_attempts.max(1);
            let answer = match outcome {
                Ok(answer) => answer,
                Err(_) if !last && !creates => {
                    std::thread::sleep(policy.delay(attempt, None));
                    continue;
                }
                Err(message) => {
                    return Err(GraphError::new(
                        GraphErrorKind::Transport,
                        request,
                        self.scrub(&message),
                    ));
                }
            };
            match answer.status {
                200..=299 => return Ok(answer.body),
                401 if !renewed => {
                    // The token may have been revoked or expired early: get a new one once.
                    renewed = true;
                    self.forget_token();
                    attempt -= 1;
                    continue;
                }
                429 | 503 if !last => {
                    std::thread::sleep(policy.delay(attempt, answer.retry_after));
                    continue;
                }
                500 | 502 | 504 if !last && !creates => {
                    std::thread::sleep(policy.delay(attempt, answer.retry_after));
                    continue;
                }
                status => {
                    let mut error = self.error_from(&request, status, &answer.body, &answer.text);
                    if matches!(status, 429 | 503) {
                        error.kind = GraphErrorKind::Throttled;
                        error.message =
                            format!("{} (gave up after {attempt} attempts)", error.message);
                    }
                    return Err(error);
                }
            }
        }
    }

    /// One HTTP exchange; `Err` is a transport failure.
    fn exchange(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
        token: &Secret,
    ) -> Result<Answer, String> {
        let authorization = format!("Bearer {}", token.expose());
        let result = match (method, body) {
            (Method::Get, _) => self
                .agent
                .get(url)
                .header("Authorization", &authorization)
                .call(),
            (Method::Delete, _) => self
                .agent
                .delete(url)
                .header("Authorization", &authorization)
                .call(),
            (Method::Post, Some(body)) => self
                .agent
                .post(url)
                .header("Authorization", &authorization)
                .send_json(body),
            (Method::Post, None) => self
                .agent
                .post(url)
                .header("Authorization", &authorization)
                .send_empty(),
            (Method::Patch, Some(body)) => self
                .agent
                .patch(url)
                .header("Authorization", &authorization)
                .send_json(body),
            (Method::Patch, None) => self
                .agent
                .patch(url)
                .header("Authorization", &authorization)
                .send_empty(),
        };
        let response = result.map_err(|error| error.to_string())?;
        read_answer(response)
    }

    fn error_from(&self, request: &str, status: u16, body: &Value, text: &str) -> GraphError {
        let (code, message) = graph_error_fields(body);
        let message = message.unwrap_or_else(|| {
            let text = text.trim();
            if text.is_empty() {
                format!("HTTP status {status}")
            } else {
                text.chars().take(300).collect()
            }
        });
        GraphError {
            kind: GraphErrorKind::Status,
            request: request.to_string(),
            status: Some(status),
            code,
            message: self.scrub(&message),
        }
    }

    /// GETs a collection and every following page.
    pub fn get_pages(&self, relative: &str) -> Result<Vec<GraphPage>, GraphError> {
        self.follow_pages(relative, self.send(Method::Get, &self.url(relative), None)?)
    }

    /// Follows the `@odata.nextLink`s of `first`, the first page of `relative`.
    fn follow_pages(&self, relative: &str, first: Value) -> Result<Vec<GraphPage>, GraphError> {
        let path = relative.split('?').next().unwrap_or(relative);
        let mut pages = vec![GraphPage::new(format!("GET {path}"), first)];
        loop {
            self.progress.inc(1);
            let next = match pages
                .last()
                .and_then(|page| page.body.get("@odata.nextLink"))
            {
                Some(Value::String(next)) => next.clone(),
                Some(_) => {
                    return Err(GraphError::new(
                        GraphErrorKind::InvalidResponse,
                        format!("GET {relative}"),
                        "`@odata.nextLink` is not a string",
                    ))
                }
                None => return Ok(pages),
            };
            if !next.starts_with(&format!("{}/", self.settings.graph_base)) {
                return Err(GraphError::new(
                    GraphErrorKind::InvalidResponse,
                    format!("GET {relative}"),
                    format!(
                        "the next page is not under {}; seatplan does not send its token elsewhere",
                        self.settings.graph_base
                    ),
                ));
            }
            if pages.len() >= MAX_PAGES {
                return Err(GraphError::new(
                    GraphErrorKind::InvalidResponse,
                    format!("GET {relative}"),
                    format!("the response has more than {MAX_PAGES} pages"),
                ));
            }
            let body = self.send(Method::Get, &next, None)?;
            let number = pages.len() + 1;
            pages.push(GraphPage::new(format!("GET {path} (page {number})"), body));
        }
    }

    /// Sends one `$batch` of at most [`BATCH_LIMIT`] GET requests and returns the inner
    /// responses (inner errors are returned, not raised).
    pub fn batch(&self, requests: &[BatchRequest]) -> Result<Vec<BatchResponse>, GraphError> {
        let body = json!({
            "requests": requests
                .iter()
                .map(|request| json!({"id": request.id, "method": "GET", "url": request.url}))
                .collect::<Vec<_>>()
        });
        let answer = self.send(Method::Post, &self.url("/$batch"), Some(&body))?;
        let invalid = |message: &str| {
            GraphError::new(GraphErrorKind::InvalidResponse, "POST /$batch", message)
        };
        let responses = answer
            .get("responses")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid("the answer has no `responses` array"))?;
        responses
            .iter()
            .map(|response| {
                let id = response
                    .get("id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid("an inner response has no `id`"))?;
                let status = response
                    .get("status")
                    .and_then(Value::as_u64)
                    .and_then(|status| u16::try_from(status).ok())
                    .ok_or_else(|| invalid("an inner response has no `status`"))?;
                let retry_after = response
                    .get("headers")
                    .and_then(Value::as_object)
                    .and_then(|headers| {
                        headers
                            .iter()
                            .find(|(name, _)| name.eq_ignore_ascii_case("retry-after"))
                            .and_then(|(_, value)| value.as_str())
                    })
                    .and_then(parse_retry_after);
                Ok(BatchResponse {
                    id: id.to_string(),
                    status,
                    retry_after,
                    body: response.get("body").cloned().unwrap_or(Value::Null),
                })
            })
            .collect()
    }

    /// GETs many collections through `$batch` (20 a batch, at most `max_in_flight` batches at
    /// once), retrying throttled inner requests and following each one's pages. Returns the
    /// pages of each relative URL, in the order of `urls`.
    pub fn get_many(&self, urls: &[String]) -> Result<Vec<Vec<GraphPage>>, GraphError> {
        let chunks: Vec<(usize, &[String])> = urls
            .chunks(BATCH_LIMIT)
            .enumerate()
            .map(|(index, chunk)| (index * BATCH_LIMIT, chunk))
            .collect();
        let queue = Mutex::new(chunks.into_iter());
        let results: Mutex<Vec<(usize, Vec<GraphPage>)>> = Mutex::new(Vec::new());
        let failure: Mutex<Option<GraphError>> = Mutex::new(None);
        let workers = self
            .settings
            .max_in_flight
            .max(1)
            .min(urls.len().div_ceil(BATCH_LIMIT))
            .max(1);
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| loop {
                    if failure.lock().map_or(true, |failure| failure.is_some()) {
                        return;
                    }
                    let next = queue.lock().ok().and_then(|mut queue| queue.next());
                    let Some((offset, chunk)) = next else {
                        return;
                    };
                    match self.get_chunk(chunk) {
                        Ok(pages) => {
                            if let Ok(mut results) = results.lock() {
                                results.extend(
                                    pages.into_iter().enumerate().map(|(i, p)| (offset + i, p)),
                                );
                            }
                        }
                        Err(error) => {
                            if let Ok(mut failure) = failure.lock() {
                                failure.get_or_insert(error);
                            }
                            return;
                        }
                    }
                });
            }
        });
        if let Some(error) = failure.into_inner().ok().flatten() {
            return Err(error);
        }
        let mut results = results.into_inner().unwrap_or_default();
        results.sort_by_key(|(index, _)| *index);
        Ok(results.into_iter().map(|(_, pages)| pages).collect())
    }

    /// One batch of at most [`BATCH_LIMIT`] URLs, with its inner retries.
    fn get_chunk(&self, urls: &[String]) -> Result<Vec<Vec<GraphPage>>, GraphError> {
        let policy = self.settings.retry;
        let mut done: Vec<Option<Vec<GraphPage>>> = vec![None; urls.len()];
        let mut pending: Vec<usize> = (0..urls.len()).collect();
        let mut attempt = 0;
        while !pending.is_empty() {
            attempt += 1;
            let requests: Vec<BatchRequest> = pending
                .iter()
                .map(|&index| BatchRequest {
                    id: (index + 1).to_string(),
                    url: urls[index].clone(),
                })
                .collect();
            let mut retry = Vec::new();
            let mut wait: Option<Duration> = None;
            for response in self.batch(&requests)? {
                let Some(index) = response
                    .id
                    .parse::<usize>()
                    .ok()
                    .and_then(|id| id.checked_sub(1))
                    .filter(|index| pending.contains(index))
                else {
                    continue;
                };
                let url = &urls[index];
                match response.status {
                    200..=299 => done[index] = Some(self.follow_pages(url, response.body)?),
                    429 | 500 | 502 | 503 | 504 if attempt < policy.max_attempts => {
                        retry.push(index);
                        let delay = policy.delay(attempt, response.retry_after);
                        wait = Some(wait.map_or(delay, |wait| wait.max(delay)));
                    }
                    status => {
                        let mut error =
                            self.error_from(&format!("GET {url}"), status, &response.body, "");
                        if matches!(status, 429 | 503) {
                            error.kind = GraphErrorKind::Throttled;
                        }
                        return Err(error);
                    }
                }
            }
            // An inner request the answer did not mention is asked again.
            let unanswered: Vec<usize> = pending
                .iter()
                .copied()
                .filter(|index| done[*index].is_none() && !retry.contains(index))
                .collect();
            retry.extend(unanswered);
            if !retry.is_empty() && attempt >= policy.max_attempts {
                return Err(GraphError::new(
                    GraphErrorKind::Throttled,
                    format!("GET {}", urls[retry[0]]),
                    format!("throttled inside $batch; gave up after {attempt} attempts"),
                ));
            }
            if let Some(wait) = wait {
                std::thread::sleep(wait);
            }
            pending = retry;
        }
        Ok(done.into_iter().map(Option::unwrap_or_default).collect())
    }
}

/// Reads status, `Retry-After` and body of a response.
pub(super) fn read_answer(
    mut response: ureq::http::Response<ureq::Body>,
) -> Result<Answer, String> {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(parse_retry_after);
    let text = response
        .body_mut()
        .with_config()
        .limit(MAX_RESPONSE_BYTES)
        .read_to_string()
        .map_err(|error| error.to_string())?;
    let body = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::Null)
    };
    Ok(Answer {
        status,
        retry_after,
        body,
        text,
    })
}

/// `Retry-After` in seconds (the form Graph uses); HTTP dates are left to the backoff.
fn parse_retry_after(value: &str) -> Option<Duration> {
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
