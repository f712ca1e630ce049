//! [`GraphClient`]: blocking HTTPS to Microsoft Graph with ureq (rustls). It owns the access
//! token (requested with client credentials, cached for its lifetime), retries under the one
//! policy of [`super::retry`] (`Retry-After` as given, jittered backoff, creates never repeated
//! blindly), sends a `client-request-id` with every request, follows `@odata.nextLink`
//! pages (only within the configured Graph URL, so the token never leaves for another host), and
//! sends `$batch` requests of at most 20 with a bounded number in flight.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::answer::{graph_error_fields, parse_retry_after, read_answer, Answer};
use super::auth::request_token;
use super::budget::{request_cost, write_cost, ResourceBudget};
use super::error::{GraphError, GraphErrorKind};
use super::retry::{client_request_id, retryable, thread_sleeper, Budget, Repeat, Sleeper};
use super::secret::Secret;
use super::settings::GraphSettings;
use crate::tenant::graph_import::GraphPage;

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
    sleeper: Sleeper,
    budget: ResourceBudget,
}

impl std::fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphClient")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl GraphClient {
    /// A client for `settings`. No request is made until the first call.
    pub fn new(settings: GraphSettings) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(settings.timeout))
            .user_agent(concat!("seatplan/", env!("CARGO_PKG_VERSION")))
            .build();
        let mut budget = ResourceBudget::new(settings.resource_units, settings.resource_window);
        if let Some(writes) = settings.write_quota {
            budget = budget.with_write_quota(writes, super::budget::WRITE_WINDOW);
        }
        GraphClient {
            agent: ureq::Agent::new_with_config(config),
            budget,
            settings,
            token: Mutex::new(None),
            progress: indicatif::ProgressBar::hidden(),
            sleeper: thread_sleeper(),
        }
    }

    /// The same client waiting between attempts through `sleeper` instead of sleeping (tests
    /// record the waits the policy asks for without spending them).
    pub fn with_sleeper(mut self, sleeper: Sleeper) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// The same client holding its writes to `writes` requests per `window` instead of Graph's
    /// documented write quota (3,000 per 2 minutes 30 seconds; see [`super::budget`]).
    pub fn with_write_quota(mut self, writes: u32, window: Duration) -> Self {
        self.budget =
            ResourceBudget::new(self.settings.resource_units, self.settings.resource_window)
                .with_write_quota(writes, window);
        self
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

    /// The resource-unit account of this client's requests.
    pub fn budget(&self) -> &ResourceBudget {
        &self.budget
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
    #[expect(
        clippy::disallowed_methods,
        reason = "a cached token is used until shortly before it expires"
    )]
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
        let (token, lifetime) = request_token(&self.agent, &self.settings, &self.sleeper)?;
        super::secret::register(&token);
        // Refresh five minutes early (or halfway through a short lifetime).
        let margin = Duration::from_secs(300).min(lifetime / 2);
        *guard = Some(CachedToken {
            token: token.clone(),
            refresh_at: Instant::now() + lifetime - margin,
        });
        Ok(token)
    }

    /// Gets the access token now (threads about to share the client then find it cached).
    pub(super) fn token(&self) -> Result<(), GraphError> {
        self.access_token().map(|_| ())
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

    /// Sends one request under the retry policy ([`super::retry`]); returns the body of a 2xx
    /// answer (`Null` when it is empty) or the error. `POST /groups` is a create (not repeated
    /// after a server error or a lost answer); every other request is safe to repeat.
    pub fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Value, GraphError> {
        let creates = method == Method::Post && url.trim_end_matches('/').ends_with("/groups");
        let repeat = if creates {
            Repeat::Create
        } else {
            Repeat::Safe
        };
        self.send_with(method, url, body, repeat)
    }

    /// [`GraphClient::send`] with the request's repeatability given.
    pub(super) fn send_with(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
        repeat: Repeat,
    ) -> Result<Value, GraphError> {
        self.answer(method, url, body, repeat, true)
            .map(|answer| answer.body)
    }

    /// GETs `url` under the retry policy and returns the text of the answer unparsed, for a
    /// caller that deserializes it straight into its types.
    pub(super) fn get_text(&self, url: &str) -> Result<String, GraphError> {
        self.answer(Method::Get, url, None, Repeat::Safe, false)
            .map(|answer| answer.text)
    }

    /// The exchange behind [`GraphClient::send_with`] and [`GraphClient::get_text`]: the
    /// successful answer, its body parsed when `parse`.
    fn answer(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
        repeat: Repeat,
        parse: bool,
    ) -> Result<Answer, GraphError> {
        let request = self.describe(method, url);
        let client_request_id = client_request_id();
        let mut budget = Budget::new(self.settings.retry);
        let mut renewed = false;
        let (cost, writes) = self.cost(method, url, body);
        loop {
            budget.attempt();
            let token = self.access_token()?;
            let spent = self
                .budget
                .spend(cost, writes, budget.attempts > 1, &|wait| {
                    (self.sleeper)(wait)
                });
            let answer = match self.exchange(method, url, body, &token, &client_request_id, parse) {
                Ok((answer, resource_units)) => {
                    if let Some(units) = self.charged_units(url, body, &answer, resource_units) {
                        self.budget.charged(spent, units);
                    }
                    answer
                }
                Err(message) => {
                    let reason = if retryable(repeat, None) {
                        match budget.next_wait(None) {
                            Ok(wait) => {
                                (self.sleeper)(wait);
                                continue;
                            }
                            Err(reason) => format!("; {reason}"),
                        }
                    } else {
                        "; not retried: the request may have been processed".to_string()
                    };
                    return Err(GraphError::new(
                        GraphErrorKind::Transport,
                        request,
                        self.scrub(&format!("{message}{reason}")),
                    )
                    .with_ids(None, Some(client_request_id)));
                }
            };
            match answer.status {
                200..=299 => return Ok(answer),
                401 if !renewed => {
                    // The token may have been revoked or expired early: get a new one once.
                    renewed = true;
                    self.forget_token();
                    continue;
                }
                status if retryable(repeat, Some(status)) => {
                    match budget.next_wait(answer.retry_after) {
                        Ok(wait) => {
                            // Only a wait that is going to happen holds the other requests.
                            if status == 429 {
                                self.budget.throttled(answer.retry_after, writes > 0);
                            }
                            (self.sleeper)(wait);
                            continue;
                        }
                        Err(reason) => {
                            let mut error = self.error_from(&request, &answer, &client_request_id);
                            if matches!(status, 429 | 503) {
                                error.kind = GraphErrorKind::Throttled;
                            }
                            error.message = format!("{} ({reason})", error.message);
                            return Err(error);
                        }
                    }
                }
                _ => return Err(self.error_from(&request, &answer, &client_request_id)),
            }
        }
    }

    /// The documented resource units a request costs and the write requests it carries: a
    /// `$batch` the sums of its inner requests.
    fn cost(&self, method: Method, url: &str, body: Option<&Value>) -> (u32, u32) {
        let relative = url.strip_prefix(&self.settings.graph_base).unwrap_or(url);
        match (relative, body) {
            ("/$batch", Some(body)) => {
                let (units, writes) = batch_inner(body)
                    .iter()
                    .map(|(_, method, url)| (request_cost(*method, url), write_cost(*method)))
                    .fold((0, 0), |(units, writes), (u, w)| (units + u, writes + w));
                (units.max(1), writes)
            }
            _ => (request_cost(method, relative), write_cost(method)),
        }
    }

    /// What Graph says a request cost: its `x-ms-resource-unit`, or for a `$batch` the inner
    /// responses' (an inner request whose response says nothing counted at its documented
    /// cost); `None` when the answer says nothing.
    fn charged_units(
        &self,
        url: &str,
        body: Option<&Value>,
        answer: &Answer,
        resource_units: Option<u32>,
    ) -> Option<u32> {
        let relative = url.strip_prefix(&self.settings.graph_base).unwrap_or(url);
        let (Some(request), "/$batch", 200..=299) = (body, relative, answer.status) else {
            return resource_units;
        };
        let responses = answer.body.get("responses").and_then(Value::as_array);
        let charged = |id: &str| {
            responses?
                .iter()
                .find(|response| response.get("id").and_then(Value::as_str) == Some(id))
                .and_then(|response| response.get("headers"))
                .and_then(inner_resource_units)
        };
        let mut said = false;
        let total = batch_inner(request)
            .iter()
            .map(|(id, method, url)| match charged(id) {
                Some(units) => {
                    said = true;
                    units
                }
                None => request_cost(*method, url),
            })
            .sum::<u32>();
        if said {
            Some(total)
        } else {
            resource_units
        }
    }

    /// Waits `wait` (through the client's sleeper, which tests replace).
    pub(super) fn sleep(&self, wait: Duration) {
        (self.sleeper)(wait);
    }

    /// One HTTP exchange; `Err` is a transport failure.
    fn exchange(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
        token: &Secret,
        client_request_id: &str,
        parse: bool,
    ) -> Result<(Answer, Option<u32>), String> {
        let authorization = format!("Bearer {}", token.expose());
        fn headers<B>(
            request: ureq::RequestBuilder<B>,
            authorization: &str,
            client_request_id: &str,
        ) -> ureq::RequestBuilder<B> {
            request
                .header("Authorization", authorization)
                .header("client-request-id", client_request_id)
                .header("return-client-request-id", "true")
        }
        let (auth, id) = (authorization.as_str(), client_request_id);
        let result = match (method, body) {
            (Method::Get, _) => headers(self.agent.get(url), auth, id).call(),
            (Method::Delete, _) => headers(self.agent.delete(url), auth, id).call(),
            (Method::Post, Some(body)) => headers(self.agent.post(url), auth, id).send_json(body),
            (Method::Post, None) => headers(self.agent.post(url), auth, id).send_empty(),
            (Method::Patch, Some(body)) => headers(self.agent.patch(url), auth, id).send_json(body),
            (Method::Patch, None) => headers(self.agent.patch(url), auth, id).send_empty(),
        };
        let response = result.map_err(|error| error.to_string())?;
        let resource_units = response
            .headers()
            .get("x-ms-resource-unit")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u32>().ok());
        read_answer(response, parse).map(|answer| (answer, resource_units))
    }

    pub(super) fn error_from(
        &self,
        request: &str,
        answer: &Answer,
        client_request_id: &str,
    ) -> GraphError {
        let status = answer.status;
        let (code, message) = graph_error_fields(&answer.body);
        let message = message.unwrap_or_else(|| {
            let text = answer.text.trim();
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
            ids: None,
        }
        .with_ids(
            answer.request_id.clone(),
            Some(client_request_id.to_string()),
        )
    }

    /// GETs a collection and every following page.
    pub fn get_pages(&self, relative: &str) -> Result<Vec<GraphPage>, GraphError> {
        self.get_pages_each(relative, &mut |_| {})
    }

    /// [`GraphClient::get_pages`], handing each page to `on_page` as soon as it arrives (so that
    /// the requests it makes possible can start while the next page is read).
    pub fn get_pages_each(
        &self,
        relative: &str,
        on_page: &mut dyn FnMut(&GraphPage),
    ) -> Result<Vec<GraphPage>, GraphError> {
        let mut pages = Vec::new();
        self.each_page(relative, &mut |page| {
            on_page(&page);
            pages.push(page);
        })?;
        Ok(pages)
    }

    /// GETs a collection and every following page, giving each page away to `on_page` as soon
    /// as it arrives and keeping none: a caller that maps pages one at a time holds one page at
    /// a time. Returns the number of pages.
    pub fn each_page(
        &self,
        relative: &str,
        on_page: &mut dyn FnMut(GraphPage),
    ) -> Result<usize, GraphError> {
        let path = relative.split('?').next().unwrap_or(relative);
        let mut body = self.send(Method::Get, &self.url(relative), None)?;
        let mut number = 1;
        loop {
            self.progress.inc(1);
            let next = match body.get("@odata.nextLink") {
                Some(Value::String(next)) => Some(next.clone()),
                Some(_) => {
                    return Err(GraphError::new(
                        GraphErrorKind::InvalidResponse,
                        format!("GET {relative}"),
                        "`@odata.nextLink` is not a string",
                    ))
                }
                None => None,
            };
            let origin = if number == 1 {
                format!("GET {path}")
            } else {
                format!("GET {path} (page {number})")
            };
            on_page(GraphPage::new(origin, body));
            let Some(next) = next else {
                return Ok(number);
            };
            self.relative_link(relative, &next)?;
            if number >= MAX_PAGES {
                return Err(GraphError::new(
                    GraphErrorKind::InvalidResponse,
                    format!("GET {relative}"),
                    format!("the response has more than {MAX_PAGES} pages"),
                ));
            }
            body = self.send(Method::Get, &next, None)?;
            number += 1;
        }
    }

    /// [`GraphClient::each_page`] with each page given away as its text, unparsed (`on_page`
    /// gets the page's name, its text and whether it is the last); only the `@odata.nextLink`
    /// is read from it here.
    pub fn each_page_text(
        &self,
        relative: &str,
        on_page: &mut dyn FnMut(String, String, bool),
    ) -> Result<usize, GraphError> {
        #[derive(serde::Deserialize)]
        struct Next {
            #[serde(rename = "@odata.nextLink")]
            next_link: Option<Value>,
        }
        let path = relative.split('?').next().unwrap_or(relative);
        let mut text = self.get_text(&self.url(relative))?;
        let mut number = 1;
        loop {
            self.progress.inc(1);
            let next = match serde_json::from_str::<Next>(&text).map(|page| page.next_link) {
                Ok(Some(Value::String(next))) => Some(next),
                Ok(Some(_)) => {
                    return Err(GraphError::new(
                        GraphErrorKind::InvalidResponse,
                        format!("GET {relative}"),
                        "`@odata.nextLink` is not a string",
                    ))
                }
                // Not a collection: the mapping reports the page.
                Ok(None) | Err(_) => None,
            };
            let origin = if number == 1 {
                format!("GET {path}")
            } else {
                format!("GET {path} (page {number})")
            };
            on_page(origin, text, next.is_none());
            let Some(next) = next else {
                return Ok(number);
            };
            self.relative_link(relative, &next)?;
            if number >= MAX_PAGES {
                return Err(GraphError::new(
                    GraphErrorKind::InvalidResponse,
                    format!("GET {relative}"),
                    format!("the response has more than {MAX_PAGES} pages"),
                ));
            }
            text = self.get_text(&next)?;
            number += 1;
        }
    }

    /// A link Graph returned (`@odata.nextLink`, `@odata.deltaLink`) relative to the Graph base,
    /// or an error when it leads elsewhere: seatplan never sends its token to another host.
    pub(super) fn relative_link<'l>(
        &self,
        request: &str,
        link: &'l str,
    ) -> Result<&'l str, GraphError> {
        link.strip_prefix(&self.settings.graph_base)
            .filter(|rest| rest.starts_with('/'))
            .ok_or_else(|| {
                GraphError::new(
                    GraphErrorKind::InvalidResponse,
                    format!("GET {request}"),
                    format!(
                        "the next page is not under {}; seatplan does not send its token elsewhere",
                        self.settings.graph_base
                    ),
                )
            })
    }

    /// Counts a page read on the progress bar.
    pub(super) fn progress_page(&self) {
        self.progress.inc(1);
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
}

/// The inner requests of a `$batch` body: id, method and URL under the Graph version.
fn batch_inner(body: &Value) -> Vec<(String, Method, String)> {
    let Some(requests) = body.get("requests").and_then(Value::as_array) else {
        return Vec::new();
    };
    requests
        .iter()
        .map(|inner| {
            let id = match inner.get("id") {
                Some(Value::String(id)) => id.clone(),
                Some(other) => other.to_string(),
                None => String::new(),
            };
            let method = match inner.get("method").and_then(Value::as_str) {
                Some("GET") => Method::Get,
                Some("PATCH") => Method::Patch,
                Some("DELETE") => Method::Delete,
                _ => Method::Post,
            };
            let url = inner.get("url").and_then(Value::as_str).unwrap_or("/");
            (id, method, url.to_string())
        })
        .collect()
}

/// The `x-ms-resource-unit` of an inner response's headers (a string, or a number).
fn inner_resource_units(headers: &Value) -> Option<u32> {
    let (_, value) = headers
        .as_object()?
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("x-ms-resource-unit"))?;
    match value {
        Value::String(text) => text.trim().parse().ok(),
        Value::Number(number) => number.as_u64().and_then(|n| u32::try_from(n).ok()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{Credential, Secret};

    fn client() -> GraphClient {
        let settings = GraphSettings::new(
            "tenant",
            "client",
            Credential::ClientSecret(Secret::new("secret")),
        )
        .with_endpoints("http://127.0.0.1:1", "http://127.0.0.1:1/v1.0");
        GraphClient::new(settings)
    }

    fn answer(body: Value) -> Answer {
        Answer {
            status: 200,
            retry_after: None,
            body,
            text: String::new(),
            request_id: None,
        }
    }

    #[test]
    fn a_batch_costs_its_inner_requests_and_writes() {
        let client = client();
        let body = json!({"requests": [
            {"id": "1", "method": "GET", "url": "/groups/a/members?$select=id"},
            {"id": "2", "method": "GET", "url": "/users"},
            {"id": "3", "method": "PATCH", "url": "/users/u", "body": {}},
        ]});
        let url = client.url("/$batch");
        assert_eq!(client.cost(Method::Post, &url, Some(&body)), (5, 1));
        assert_eq!(
            client.cost(Method::Post, &client.url("/groups/g/assignLicense"), None),
            (1, 1)
        );
        assert_eq!(
            client.cost(Method::Get, &client.url("/users?$select=id"), None),
            (1, 0)
        );
    }

    #[test]
    fn graph_s_charge_is_read_from_the_answer_and_from_each_inner_response() {
        let client = client();
        let single = client.url("/users?$select=id");
        let plain = answer(Value::Null);
        assert_eq!(
            client.charged_units(&single, None, &plain, Some(4)),
            Some(4)
        );
        assert_eq!(client.charged_units(&single, None, &plain, None), None);
        let url = client.url("/$batch");
        let request = json!({"requests": [
            {"id": "1", "method": "GET", "url": "/groups/a/members?$select=id"},
            {"id": "2", "method": "GET", "url": "/groups/b/members?$select=id"},
        ]});
        // One inner response says 7 (a string, as Graph writes headers), the other nothing:
        // that one counts at its documented 2.
        let said = answer(json!({"responses": [
            {"id": "2", "status": 200, "headers": {"X-MS-Resource-Unit": "7"}, "body": {}},
            {"id": "1", "status": 200, "headers": {}, "body": {}},
        ]}));
        assert_eq!(
            client.charged_units(&url, Some(&request), &said, None),
            Some(9)
        );
        let silent = answer(json!({"responses": [
            {"id": "1", "status": 200, "headers": {}, "body": {}},
            {"id": "2", "status": 200, "body": {}},
        ]}));
        assert_eq!(
            client.charged_units(&url, Some(&request), &silent, None),
            None
        );
        assert_eq!(
            client.charged_units(&url, Some(&request), &silent, Some(3)),
            Some(3),
            "the outer header when no inner response says"
        );
        assert_eq!(
            inner_resource_units(&json!({"x-ms-resource-unit": 3})),
            Some(3)
        );
    }
}
