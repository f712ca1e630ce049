//! The resource-unit budget of the identity and access service: Graph meters reads of users,
//! groups, members and subscriptions by a token bucket of resource units (RU) per application
//! and tenant, and answers 429 once it is spent. seatplan keeps its own account of what it
//! spends, by the documented costs, and holds a request back until the last ten seconds leave
//! room for it, so that parallel reads run as fast as the quota allows instead of finding the
//! limit by 429s. A 429 all the same (another app spending the same quota, a busy service)
//! pauses every request for the `Retry-After` and lowers the quota seatplan assumes.
//!
//! Costs and quotas are those of Microsoft's "Microsoft Graph service-specific throttling
//! limits", section "Identity and access service limits"
//! (<https://learn.microsoft.com/graph/throttling-limits#identity-and-access-service-limits>):
//! base costs `GET users` 2, `GET groups/{id}/members` 3, `GET groups/{id}/transitiveMembers` 5,
//! `GET subscribedSkus` 3, any other identity path 1; `$select` −1, `$expand` +1, `$top` below 20
//! −1, never below 1; the application+tenant quota is 3,500 RU per 10 seconds for a tenant under
//! 50 users, 5,000 up to 500 users and 8,000 above. The inner requests of a `$batch` are metered
//! one by one, so a batch costs the sum of its inner requests.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use super::client::Method;

/// The quota of a tenant under 50 users, per window.
pub const QUOTA_SMALL: u32 = 3_500;
/// The quota of a tenant of 50 to 500 users, per window.
pub const QUOTA_MEDIUM: u32 = 5_000;
/// The quota of a tenant above 500 users, per window.
pub const QUOTA_LARGE: u32 = 8_000;
/// The window the quotas are counted over.
pub const WINDOW: Duration = Duration::from_secs(10);

/// The documented resource-unit cost of one request (`relative` is the path and query under the
/// Graph version, as sent or as an inner request of a `$batch`).
pub fn request_cost(method: Method, relative: &str) -> u32 {
    let (path, query) = relative.split_once('?').unwrap_or((relative, ""));
    let segments: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let base: i64 = match (method, segments.as_slice()) {
        (Method::Get, ["users"]) => 2,
        (Method::Get, ["groups", _, "members"]) => 3,
        (Method::Get, ["groups", _, "transitiveMembers"]) => 5,
        (Method::Get, ["subscribedSkus"]) => 3,
        _ => 1,
    };
    let mut cost = base;
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = name.to_ascii_lowercase();
        let name = name.trim_start_matches('$').trim_start_matches("%24");
        match name {
            "select" => cost -= 1,
            "expand" => cost += 1,
            "top" if value.parse::<u32>().is_ok_and(|top| top < 20) => cost -= 1,
            _ => {}
        }
    }
    cost.max(1) as u32
}

/// The quota the documentation gives a tenant of `users` users.
pub fn quota_for_users(users: usize) -> u32 {
    match users {
        0..50 => QUOTA_SMALL,
        50..=500 => QUOTA_MEDIUM,
        _ => QUOTA_LARGE,
    }
}

struct State {
    /// The units seatplan allows itself per window.
    quota: u32,
    /// Set by the settings: the tenant's size does not change it.
    fixed: bool,
    /// What was spent within the last window, oldest first.
    spent: VecDeque<(Instant, u32)>,
    /// Every request waits until then (a `Retry-After`).
    paused_until: Option<Instant>,
    /// Units spent since the client was made.
    total: u64,
    /// Requests (and inner requests) counted since the client was made.
    requests: u64,
}

/// The account of resource units one client spends, shared by its threads.
pub struct ResourceBudget {
    state: Mutex<State>,
    room: Condvar,
    window: Duration,
}

impl std::fmt::Debug for ResourceBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceBudget")
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

impl ResourceBudget {
    /// A budget of `quota` units per `window`; `None` starts at the smallest documented quota and
    /// follows the tenant's size ([`ResourceBudget::tenant_has_users`]).
    pub fn new(quota: Option<u32>, window: Duration) -> Self {
        ResourceBudget {
            state: Mutex::new(State {
                quota: quota.unwrap_or(QUOTA_SMALL).max(1),
                fixed: quota.is_some(),
                spent: VecDeque::new(),
                paused_until: None,
                total: 0,
                requests: 0,
            }),
            room: Condvar::new(),
            window,
        }
    }

    /// Raises the assumed quota to the documented one for a tenant with at least `users` users
    /// (never lowers it, and never changes a quota set by the settings).
    pub fn tenant_has_users(&self, users: usize) {
        if let Ok(mut state) = self.state.lock() {
            if !state.fixed {
                state.quota = state.quota.max(quota_for_users(users));
                self.room.notify_all();
            }
        }
    }

    /// Waits until `cost` units fit into the window, then counts them as spent. A pause asked by
    /// a `Retry-After` is waited out through `sleep` (once) unless the request is itself a
    /// retry, which has waited already; the window's wait is real time. A request costing more
    /// than the whole quota waits for an empty window and is then sent.
    #[expect(
        clippy::disallowed_methods,
        reason = "units leave the window as time passes"
    )]
    pub fn spend(&self, cost: u32, retry: bool, sleep: &dyn Fn(Duration)) {
        let pause = self.state.lock().ok().and_then(|state| {
            state
                .paused_until
                .and_then(|until| until.checked_duration_since(Instant::now()))
        });
        if let (Some(pause), false) = (pause, retry) {
            sleep(pause);
        }
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        // Units are held a twentieth of the window longer than Graph holds them: its clock
        // starts when a request arrives, a little after seatplan sent it.
        let window = self.window + self.window / 20;
        loop {
            let now = Instant::now();
            while state
                .spent
                .front()
                .is_some_and(|(at, _)| now.duration_since(*at) >= window)
            {
                state.spent.pop_front();
            }
            let used: u64 = state.spent.iter().map(|(_, units)| u64::from(*units)).sum();
            if used + u64::from(cost) <= u64::from(state.quota) || state.spent.is_empty() {
                state.spent.push_back((now, cost));
                state.total += u64::from(cost);
                state.requests += 1;
                return;
            }
            let oldest = state.spent.front().map_or(now, |(at, _)| *at);
            let wait = (oldest + window).saturating_duration_since(now);
            state = match self
                .room
                .wait_timeout(state, wait.max(Duration::from_millis(1)))
            {
                Ok((state, _)) => state,
                Err(_) => return,
            };
        }
    }

    /// Graph answered 429: every request waits for `retry_after` (when given), and the quota
    /// assumed from now on is three quarters of what it was.
    #[expect(
        clippy::disallowed_methods,
        reason = "a Retry-After pauses requests until a moment in time"
    )]
    pub fn throttled(&self, retry_after: Option<Duration>) {
        if let Ok(mut state) = self.state.lock() {
            if let Some(after) = retry_after {
                let until = Instant::now() + after;
                state.paused_until = Some(state.paused_until.map_or(until, |old| old.max(until)));
            }
            state.quota = (state.quota - state.quota / 4).max(1);
        }
    }

    /// Units and requests counted since the client was made.
    pub fn spent(&self) -> (u64, u64) {
        self.state
            .lock()
            .map_or((0, 0), |state| (state.total, state.requests))
    }

    /// The quota assumed now.
    pub fn quota(&self) -> u32 {
        self.state.lock().map_or(0, |state| state.quota)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_follow_the_documented_table() {
        assert_eq!(request_cost(Method::Get, "/users?$select=id&$top=999"), 1);
        assert_eq!(request_cost(Method::Get, "/users"), 2);
        assert_eq!(
            request_cost(Method::Get, "/groups/g1/members?$select=id&$top=999"),
            2
        );
        assert_eq!(request_cost(Method::Get, "/groups/g1/members"), 3);
        assert_eq!(request_cost(Method::Get, "/groups/g1/transitiveMembers"), 5);
        assert_eq!(
            request_cost(Method::Get, "/subscribedSkus?$select=skuId"),
            2
        );
        assert_eq!(request_cost(Method::Get, "/groups?$select=id"), 1);
        assert_eq!(request_cost(Method::Get, "/users/delta?$deltatoken=x"), 1);
        assert_eq!(request_cost(Method::Get, "/users?$expand=manager"), 3);
        assert_eq!(request_cost(Method::Get, "/users?$top=5"), 1);
        assert_eq!(request_cost(Method::Post, "/groups/g1/assignLicense"), 1);
    }

    #[test]
    fn quotas_follow_the_tenant_size() {
        assert_eq!(quota_for_users(10), QUOTA_SMALL);
        assert_eq!(quota_for_users(50), QUOTA_MEDIUM);
        assert_eq!(quota_for_users(501), QUOTA_LARGE);
        let budget = ResourceBudget::new(None, WINDOW);
        assert_eq!(budget.quota(), QUOTA_SMALL);
        budget.tenant_has_users(100_000);
        assert_eq!(budget.quota(), QUOTA_LARGE);
        budget.tenant_has_users(10);
        assert_eq!(budget.quota(), QUOTA_LARGE, "never lowered by the size");
        budget.throttled(None);
        assert_eq!(budget.quota(), 6_000);
        let fixed = ResourceBudget::new(Some(300), WINDOW);
        fixed.tenant_has_users(100_000);
        assert_eq!(fixed.quota(), 300);
    }

    #[test]
    #[expect(
        clippy::disallowed_methods,
        reason = "the test measures that the window held a request"
    )]
    fn a_full_window_holds_the_next_request_until_units_expire() {
        let budget = ResourceBudget::new(Some(10), Duration::from_millis(200));
        // (held 210 ms: a twentieth longer than the window)
        let start = Instant::now();
        for _ in 0..5 {
            budget.spend(2, false, &|_| {});
        }
        assert!(start.elapsed() < Duration::from_millis(200));
        budget.spend(2, false, &|_| {});
        assert!(start.elapsed() >= Duration::from_millis(200));
        assert_eq!(budget.spent(), (12, 6));
    }

    #[test]
    fn a_retry_after_pauses_other_requests_once_and_not_the_retry() {
        let budget = ResourceBudget::new(None, WINDOW);
        budget.throttled(Some(Duration::from_secs(30)));
        let waits = Mutex::new(Vec::new());
        let record = |wait: Duration| waits.lock().unwrap().push(wait);
        budget.spend(1, true, &record);
        assert!(waits.lock().unwrap().is_empty());
        budget.spend(1, false, &record);
        let waits = waits.into_inner().unwrap();
        assert_eq!(waits.len(), 1);
        assert!(waits[0] > Duration::from_secs(29));
    }
}
