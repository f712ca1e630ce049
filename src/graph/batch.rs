//! [`BatchReader`]: GET requests of many collections sent through `$batch`, at most
//! [`BATCH_LIMIT`] a batch and a few batches in flight. Requests can be added while it runs (the
//! members of a group as soon as its page of groups arrives), and each response's
//! `@odata.nextLink` goes back into the queue, so follow-up pages travel in batches too, mixed
//! with the first pages of other collections. Throttled inner requests wait for their
//! `Retry-After` (which pauses the client's other requests as well) and are sent again under the
//! one retry policy.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::answer::Answer;
use super::client::{BatchRequest, GraphClient, BATCH_LIMIT};
use super::error::{GraphError, GraphErrorKind};
use super::retry::{client_request_id, retryable, Budget, Repeat};
use crate::tenant::graph_import::GraphPage;

/// The most pages one collection may have (as for single requests).
const MAX_PAGES: usize = 10_000;

/// One GET waiting to be sent.
struct Item {
    /// Which collection it reads.
    key: usize,
    /// Path and query under the Graph version.
    url: String,
    /// The path of the collection's first request, for the pages' names.
    path: String,
    /// The number of this page (1 for the first).
    page: usize,
    /// Its attempts and waits.
    retry: Budget,
}

#[derive(Default)]
struct Queue {
    pending: VecDeque<Item>,
    in_flight: usize,
    closed: bool,
    pages: BTreeMap<usize, Vec<GraphPage>>,
    error: Option<GraphError>,
}

/// A queue of collection reads answered through `$batch` by [`BatchReader::work`]ers.
pub struct BatchReader<'c> {
    client: &'c GraphClient,
    queue: Mutex<Queue>,
    changed: Condvar,
}

impl<'c> BatchReader<'c> {
    /// An empty, open queue for `client`.
    pub fn new(client: &'c GraphClient) -> Self {
        BatchReader {
            client,
            queue: Mutex::new(Queue::default()),
            changed: Condvar::new(),
        }
    }

    /// Adds collections to read: `(key, path and query)`; the pages of each key come back in
    /// order from [`BatchReader::finish`]. Requests added together are batched together.
    pub fn push(&self, requests: impl IntoIterator<Item = (usize, String)>) {
        let policy = self.client.settings().retry;
        if let Ok(mut queue) = self.queue.lock() {
            for (key, url) in requests {
                let path = url.split('?').next().unwrap_or(&url).to_string();
                queue.pages.entry(key).or_default();
                queue.pending.push_back(Item {
                    key,
                    url,
                    path,
                    page: 1,
                    retry: Budget::new(policy),
                });
            }
            self.changed.notify_all();
        }
    }

    /// No more requests will be added: the workers stop once the queue is empty.
    pub fn close(&self) {
        if let Ok(mut queue) = self.queue.lock() {
            queue.closed = true;
            self.changed.notify_all();
        }
    }

    /// Sends batches until the queue is closed and empty, or a request failed.
    pub fn work(&self) {
        loop {
            let batch: Vec<Item> = {
                let Ok(mut queue) = self.queue.lock() else {
                    return;
                };
                loop {
                    if queue.error.is_some() {
                        return;
                    }
                    if !queue.pending.is_empty() {
                        let take = queue.pending.len().min(BATCH_LIMIT);
                        let batch = queue.pending.drain(..take).collect();
                        queue.in_flight += 1;
                        break batch;
                    }
                    if queue.closed && queue.in_flight == 0 {
                        return;
                    }
                    queue = match self.changed.wait(queue) {
                        Ok(queue) => queue,
                        Err(_) => return,
                    };
                }
            };
            let outcome = self.send(batch);
            if let Ok(mut queue) = self.queue.lock() {
                queue.in_flight -= 1;
                if let Err(error) = outcome {
                    queue.error.get_or_insert(error);
                }
                self.changed.notify_all();
            }
        }
    }

    /// The pages of every key, or the first error.
    pub fn finish(self) -> Result<BTreeMap<usize, Vec<GraphPage>>, GraphError> {
        let queue = self.queue.into_inner().map_err(|_| {
            GraphError::new(
                GraphErrorKind::InvalidResponse,
                "POST /$batch",
                "a thread reading members panicked",
            )
        })?;
        match queue.error {
            Some(error) => Err(error),
            None => Ok(queue.pages),
        }
    }

    /// Sends one batch and files its answers: pages, follow-up pages and retries.
    fn send(&self, mut batch: Vec<Item>) -> Result<(), GraphError> {
        let client = self.client;
        for item in &mut batch {
            item.retry.attempt();
        }
        let requests: Vec<BatchRequest> = batch
            .iter()
            .enumerate()
            .map(|(index, item)| BatchRequest {
                id: (index + 1).to_string(),
                url: item.url.clone(),
            })
            .collect();
        let mut answers: Vec<Option<super::client::BatchResponse>> = vec![None; batch.len()];
        for response in client.batch(&requests)? {
            let index = response
                .id
                .parse::<usize>()
                .ok()
                .and_then(|id| id.checked_sub(1));
            if let Some(slot) = index.and_then(|index| answers.get_mut(index)) {
                *slot = Some(response);
            }
        }
        let mut pages = Vec::new();
        let mut next = Vec::new();
        let mut retry = Vec::new();
        let mut asked: Option<Duration> = None;
        for (item, answer) in batch.into_iter().zip(answers) {
            match answer {
                Some(response) if (200..300).contains(&response.status) => {
                    client.progress_page();
                    let name = if item.page == 1 {
                        format!("GET {}", item.path)
                    } else {
                        format!("GET {} (page {})", item.path, item.page)
                    };
                    match response.body.get("@odata.nextLink") {
                        Some(Value::String(link)) => {
                            let relative = client.relative_link(&item.url, link)?.to_string();
                            if item.page >= MAX_PAGES {
                                return Err(GraphError::new(
                                    GraphErrorKind::InvalidResponse,
                                    format!("GET {}", item.path),
                                    format!("the response has more than {MAX_PAGES} pages"),
                                ));
                            }
                            next.push(Item {
                                key: item.key,
                                url: relative,
                                path: item.path.clone(),
                                page: item.page + 1,
                                retry: Budget::new(client.settings().retry),
                            });
                        }
                        Some(_) => {
                            return Err(GraphError::new(
                                GraphErrorKind::InvalidResponse,
                                format!("GET {}", item.url),
                                "`@odata.nextLink` is not a string",
                            ))
                        }
                        None => {}
                    }
                    pages.push((item.key, GraphPage::new(name, response.body)));
                }
                Some(response) if retryable(Repeat::Safe, Some(response.status)) => {
                    if let Some(after) = response.retry_after {
                        asked = Some(asked.map_or(after, |asked| asked.max(after)));
                    }
                    retry.push((item, Some(response)));
                }
                Some(response) => {
                    let answer = Answer {
                        status: response.status,
                        retry_after: None,
                        body: response.body,
                        text: String::new(),
                        request_id: None,
                    };
                    return Err(client.error_from(
                        &format!("GET {}", item.url),
                        &answer,
                        &client_request_id(),
                    ));
                }
                // An inner request the answer did not mention is asked again.
                None => retry.push((item, None)),
            }
        }
        let mut wait = Duration::ZERO;
        let mut again = Vec::new();
        let mut throttled = false;
        for (mut item, response) in retry {
            match item.retry.next_wait(asked) {
                Ok(this) => {
                    throttled |= response.as_ref().is_some_and(|r| r.status == 429);
                    wait = wait.max(this);
                    again.push(item);
                }
                Err(reason) => {
                    let mut error = match response {
                        Some(response) => {
                            let answer = Answer {
                                status: response.status,
                                retry_after: response.retry_after,
                                body: response.body,
                                text: String::new(),
                                request_id: None,
                            };
                            client.error_from(
                                &format!("GET {}", item.url),
                                &answer,
                                &client_request_id(),
                            )
                        }
                        None => GraphError::new(
                            GraphErrorKind::InvalidResponse,
                            format!("GET {}", item.url),
                            "the $batch answer does not answer this request",
                        ),
                    };
                    error.kind = GraphErrorKind::Throttled;
                    error.message = format!("{} (inside $batch; {reason})", error.message);
                    return Err(error);
                }
            }
        }
        if let Ok(mut queue) = self.queue.lock() {
            for (key, page) in pages {
                queue.pages.entry(key).or_default().push(page);
            }
            queue.pending.extend(next);
            self.changed.notify_all();
        }
        if !again.is_empty() {
            if throttled {
                client.budget().throttled(asked, false);
            }
            client.sleep(wait);
            if let Ok(mut queue) = self.queue.lock() {
                queue.pending.extend(again);
                self.changed.notify_all();
            }
        }
        Ok(())
    }
}

impl GraphClient {
    /// GETs many collections through `$batch` (20 a batch, at most `max_in_flight` batches at
    /// once, follow-up pages batched too), retrying throttled inner requests. Returns the pages
    /// of each relative URL, in the order of `urls`.
    pub fn get_many(&self, urls: &[String]) -> Result<Vec<Vec<GraphPage>>, GraphError> {
        let reader = BatchReader::new(self);
        reader.push(urls.iter().cloned().enumerate());
        reader.close();
        let workers = self
            .settings()
            .max_in_flight
            .clamp(1, urls.len().div_ceil(BATCH_LIMIT).max(1));
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| reader.work());
            }
        });
        let mut pages = reader.finish()?;
        Ok((0..urls.len())
            .map(|index| pages.remove(&index).unwrap_or_default())
            .collect())
    }
}
