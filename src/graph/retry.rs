//! The one retry policy of every Graph and identity-platform request (tokens, reads, writes and
//! the inner requests of `$batch`): which failures are tried again, and how long to wait.
//!
//! - `Retry-After` is honoured exactly as Graph gives it (even several minutes), as long as the
//!   total wait for the request stays within [`RetryPolicy::deadline`]; a longer wait is not
//!   started, and the error says how long Graph asked for.
//! - Without `Retry-After`, the wait doubles from [`RetryPolicy::base_delay`] up to
//!   [`RetryPolicy::max_backoff`], with random jitter (between half and all of it) so that
//!   parallel requests do not come back in step.
//! - A request is retried only where repeating it cannot duplicate anything: throttling (429) is
//!   answered before Graph processes a request, so it is always retried; a server error or a lost
//!   answer is retried only for a [`Repeat::Safe`] request. A create ([`Repeat::Create`]) is then
//!   looked up instead (see `GraphClient::create_group_once`).
//! - An object that was just created or changed may answer 404 for a while (Entra replicates
//!   it); calls on such an object retry 404 until [`RetryPolicy::consistency_deadline`].

use std::sync::Arc;
use std::time::Duration;

/// Whether a request may be sent again after a failure whose outcome is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// Sending it again has the same effect as sending it once (reads, `assignLicense`, `PATCH`,
    /// `DELETE`, member references, `$batch` of reads).
    Safe,
    /// Sending it again may create a second object (`POST /groups`).
    Create,
}

/// When and how often a failed request is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Most attempts of one request, the first included.
    pub max_attempts: u32,
    /// The wait before the second attempt when Graph gives no `Retry-After`; doubled each time.
    pub base_delay: Duration,
    /// The longest wait of the backoff (a `Retry-After` is honoured beyond it).
    pub max_backoff: Duration,
    /// The most time one request spends waiting between its attempts, in total.
    pub deadline: Duration,
    /// How long a call on an object that was just created or changed retries 404 (Entra's
    /// replication delay).
    pub consistency_deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_secs(1),
            max_backoff: Duration::from_secs(32),
            deadline: Duration::from_secs(600),
            consistency_deadline: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// The backoff before attempt `attempt + 1` (attempt counts from 1) without `Retry-After`:
    /// doubled from the base, capped, then scaled by `jitter` (in `[0, 1)`) into its upper half.
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(16));
        let full = self.base_delay.saturating_mul(factor).min(self.max_backoff);
        full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }
}

/// What waits between attempts: the thread's sleep, or a recorder in tests.
pub type Sleeper = Arc<dyn Fn(Duration) + Send + Sync>;

/// The real sleep.
#[expect(
    clippy::disallowed_methods,
    reason = "retries wait before they are sent again"
)]
pub fn thread_sleeper() -> Sleeper {
    Arc::new(std::thread::sleep)
}

/// The attempts and the waiting time one request has used, against a deadline.
#[derive(Debug, Clone)]
pub struct Budget {
    policy: RetryPolicy,
    deadline: Duration,
    /// Attempts made so far.
    pub attempts: u32,
    /// Time waited so far.
    pub waited: Duration,
}

impl Budget {
    /// A budget for one request under `policy`.
    pub fn new(policy: RetryPolicy) -> Self {
        Budget {
            policy,
            deadline: policy.deadline,
            attempts: 0,
            waited: Duration::ZERO,
        }
    }

    /// A budget for retrying 404 on a fresh object, bounded by the consistency deadline alone;
    /// the first wait is the base delay, or an eighth of the deadline when that is shorter.
    pub fn consistency(policy: RetryPolicy) -> Self {
        Budget {
            policy: RetryPolicy {
                // The deadline bounds it; the count only guards against waits of zero.
                max_attempts: 1000,
                base_delay: policy.base_delay.min(policy.consistency_deadline / 8),
                ..policy
            },
            deadline: policy.consistency_deadline,
            attempts: 0,
            waited: Duration::ZERO,
        }
    }

    /// Counts an attempt about to be made.
    pub fn attempt(&mut self) {
        self.attempts += 1;
    }

    /// The wait before the next attempt, or why there is none: `retry_after` as given, else the
    /// jittered backoff; `Err` when the attempts are used up or the wait would pass the deadline.
    pub fn next_wait(&mut self, retry_after: Option<Duration>) -> Result<Duration, String> {
        if self.attempts >= self.policy.max_attempts.max(1) {
            return Err(format!("gave up after {} attempts", self.attempts));
        }
        if self.deadline.is_zero() {
            return Err("not retried: the deadline is 0 s".to_string());
        }
        let wait = retry_after.unwrap_or_else(|| self.policy.backoff(self.attempts, jitter()));
        let total = self.waited.saturating_add(wait);
        if total > self.deadline {
            return Err(match retry_after {
                Some(asked) => format!(
                    "Graph asked to wait {} s before trying again, which would pass the retry deadline of {} s (after {} attempts)",
                    asked.as_secs(),
                    self.deadline.as_secs(),
                    self.attempts
                ),
                None => format!(
                    "gave up after {} attempts and {} s of waiting (the deadline is {} s)",
                    self.attempts,
                    self.waited.as_secs(),
                    self.deadline.as_secs()
                ),
            });
        }
        self.waited = total;
        Ok(wait)
    }
}

/// A random number in `[0, 1)` for the backoff's jitter.
fn jitter() -> f64 {
    let mut bytes = [0u8; 8];
    match ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes) {
        Ok(()) => (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.5,
    }
}

/// A fresh `client-request-id` (a random version-4 GUID) that Graph echoes and support can
/// trace.
#[expect(
    clippy::disallowed_methods,
    reason = "request ids are seeded from the clock"
)]
pub fn client_request_id() -> String {
    let mut bytes = [0u8; 16];
    if ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).is_err() {
        bytes = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos())
            .to_le_bytes();
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Whether a failure of a `repeat` request with `status` (`None`: no answer arrived) may be
/// retried.
pub fn retryable(repeat: Repeat, status: Option<u16>) -> bool {
    match status {
        Some(429) => true,
        Some(500 | 502 | 503 | 504) | None => repeat == Repeat::Safe,
        Some(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_secs(1),
            max_backoff: Duration::from_secs(10),
            deadline: Duration::from_secs(100),
            consistency_deadline: Duration::from_secs(3),
        }
    }

    #[test]
    fn backoff_doubles_is_capped_and_jittered_into_its_upper_half() {
        let policy = policy();
        assert_eq!(
            policy.backoff(1, 0.999_999),
            Duration::from_secs(1) - Duration::from_nanos(500)
        );
        assert_eq!(policy.backoff(3, 0.0), Duration::from_secs(2));
        assert_eq!(policy.backoff(9, 0.0), Duration::from_secs(5));
        assert!(policy.backoff(9, 0.9) <= Duration::from_secs(10));
        for _ in 0..100 {
            let value = jitter();
            assert!((0.0..1.0).contains(&value));
        }
    }

    #[test]
    fn retry_after_is_honoured_as_given_until_the_deadline() {
        let mut budget = Budget::new(policy());
        budget.attempt();
        assert_eq!(
            budget.next_wait(Some(Duration::from_secs(90))),
            Ok(Duration::from_secs(90))
        );
        budget.attempt();
        let error = budget.next_wait(Some(Duration::from_secs(20))).unwrap_err();
        assert!(error.contains("wait 20 s"), "{error}");
        assert!(error.contains("deadline of 100 s"), "{error}");
    }

    #[test]
    fn attempts_run_out() {
        let mut budget = Budget::new(RetryPolicy {
            max_attempts: 2,
            ..policy()
        });
        budget.attempt();
        assert!(budget.next_wait(Some(Duration::ZERO)).is_ok());
        budget.attempt();
        assert_eq!(
            budget.next_wait(Some(Duration::ZERO)).unwrap_err(),
            "gave up after 2 attempts"
        );
    }

    #[test]
    fn the_consistency_budget_is_bounded_by_time_alone() {
        let mut budget = Budget::consistency(policy());
        let mut waited = Duration::ZERO;
        loop {
            budget.attempt();
            match budget.next_wait(None) {
                Ok(wait) => waited += wait,
                Err(_) => break,
            }
        }
        assert!(waited <= Duration::from_secs(3));
        assert!(budget.attempts >= 2);
    }

    #[test]
    fn only_repeatable_requests_are_retried_after_server_errors() {
        assert!(retryable(Repeat::Create, Some(429)));
        assert!(!retryable(Repeat::Create, Some(503)));
        assert!(!retryable(Repeat::Create, None));
        assert!(retryable(Repeat::Safe, Some(503)));
        assert!(retryable(Repeat::Safe, None));
        assert!(!retryable(Repeat::Safe, Some(400)));
        assert!(!retryable(Repeat::Safe, Some(404)));
    }

    #[test]
    fn client_request_ids_are_version_4_guids() {
        let id = client_request_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(id, client_request_id());
    }
}
