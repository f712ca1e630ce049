//! The budget of the identity and access service: Graph meters requests on users, groups,
//! members and subscriptions by a token bucket of resource units (RU) per application and
//! tenant, meters writes besides by a count of write requests, and answers 429 once either is
//! spent. seatplan keeps its own account of both and holds a request back until the windows
//! leave room for it, so that parallel reads and the writes of an apply run as fast as the
//! quotas allow instead of finding the limits by 429s. A request is reserved at its documented
//! cost; Graph's answer says what it really charged (`x-ms-resource-unit`, on each inner
//! response of a `$batch`), which replaces the reservation in the account and scales the
//! reservations of the requests after it, so that a service charging more than its table says
//! slows seatplan down rather than throttling it. A 429 all the same (another app spending the
//! same quota, a busy service) pauses every request for the `Retry-After` and lowers the quota
//! seatplan assumes.
//!
//! Costs and quotas are those of Microsoft's "Microsoft Graph service-specific throttling
//! limits", section "Identity and access service limits"
//! (<https://learn.microsoft.com/graph/throttling-limits#identity-and-access-service-limits>):
//! base costs `GET users` 2, `GET groups/{id}/members` 3, `GET groups/{id}/transitiveMembers` 5,
//! `GET subscribedSkus` 3, any other identity path 1 (writes too); `$select` −1, `$expand` +1,
//! `$top` below 20 −1, never below 1; the application+tenant quota is 3,500 RU per 10 seconds for
//! a tenant under 50 users, 5,000 up to 500 users and 8,000 above, and 3,000 write requests
//! (POST, PATCH, PUT, DELETE: a write cost of 1 each) per 2 minutes 30 seconds. The inner
//! requests of a `$batch` are metered one by one, so a batch costs the sum of its inner
//! requests.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use super::client::Method;

/// The write requests a request of `method` carries against the write quota: 1 for a write,
/// 0 for a read (the documented table's "write cost").
pub fn write_cost(method: Method) -> u32 {
    u32::from(method != Method::Get)
}

/// The quota of a tenant under 50 users, per window.
pub const QUOTA_SMALL: u32 = 3_500;
/// The quota of a tenant of 50 to 500 users, per window.
pub const QUOTA_MEDIUM: u32 = 5_000;
/// The quota of a tenant above 500 users, per window.
pub const QUOTA_LARGE: u32 = 8_000;
/// The window the quotas are counted over.
pub const WINDOW: Duration = Duration::from_secs(10);
/// The write requests (POST, PATCH, PUT, DELETE) one app may send to one tenant per
/// [`WRITE_WINDOW`], besides their resource units.
pub const WRITE_QUOTA: u32 = 3_000;
/// The window the write quota is counted over: two minutes and thirty seconds.
pub const WRITE_WINDOW: Duration = Duration::from_secs(150);

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

/// The resource units and write requests charged within a window, oldest first.
#[derive(Default)]
struct Window {
    charged: VecDeque<(Instant, u32)>,
}

impl Window {
    /// Forgets what was charged `held` or longer ago.
    fn expire(&mut self, now: Instant, held: Duration) {
        while self
            .charged
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) >= held)
        {
            self.charged.pop_front();
        }
    }

    fn used(&self) -> u64 {
        self.charged
            .iter()
            .map(|(_, units)| u64::from(*units))
            .sum()
    }

    /// Whether `units` more fit under `quota` (anything fits an empty window).
    fn fits(&self, units: u32, quota: u32) -> bool {
        units == 0 || self.charged.is_empty() || self.used() + u64::from(units) <= u64::from(quota)
    }

    /// How long until the oldest charge leaves the window.
    fn wait(&self, now: Instant, held: Duration) -> Duration {
        let oldest = self.charged.front().map_or(now, |(at, _)| *at);
        (oldest + held).saturating_duration_since(now)
    }
}

struct State {
    /// The units seatplan allows itself per window.
    quota: u32,
    /// Set by the settings: the tenant's size does not change it.
    fixed: bool,
    /// The units reserved or charged within the last window.
    units: Window,
    /// The write requests sent within the last write window.
    writes: Window,
    /// The write requests seatplan allows itself per write window.
    write_quota: u32,
    /// Every request waits until then (a `Retry-After`).
    paused_until: Option<Instant>,
    /// Units spent since the client was made: what Graph said it charged, the documented cost
    /// where it said nothing.
    total: u64,
    /// Requests (and inner requests) counted since the client was made.
    requests: u64,
    /// The documented costs of the requests Graph answered with their charge, and what it
    /// charged for them: their ratio scales the reservations of the next requests.
    documented_answered: u64,
    charged_answered: u64,
}

impl State {
    /// The units reserved for a request of documented cost `cost`: the cost scaled by what
    /// Graph charged so far against the documented costs of the same requests.
    fn reservation(&self, cost: u32) -> u32 {
        if self.documented_answered == 0 {
            return cost;
        }
        let scaled = (u64::from(cost) * self.charged_answered).div_ceil(self.documented_answered);
        u32::try_from(scaled).unwrap_or(u32::MAX).max(1)
    }
}

/// What [`ResourceBudget::spend`] counted for one request, to be corrected by
/// [`ResourceBudget::charged`] with what Graph says it charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spent {
    at: Instant,
    /// The units reserved.
    units: u32,
    /// The documented cost they were reserved for.
    documented: u32,
}

/// The account of resource units and write requests one client spends, shared by its threads.
pub struct ResourceBudget {
    state: Mutex<State>,
    room: Condvar,
    window: Duration,
    write_window: Duration,
}

impl std::fmt::Debug for ResourceBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceBudget")
            .field("window", &self.window)
            .field("write_window", &self.write_window)
            .finish_non_exhaustive()
    }
}

impl ResourceBudget {
    /// A budget of `quota` units per `window`; `None` starts at the smallest documented quota and
    /// follows the tenant's size ([`ResourceBudget::tenant_has_users`]). Writes are held to the
    /// documented [`WRITE_QUOTA`] per [`WRITE_WINDOW`].
    pub fn new(quota: Option<u32>, window: Duration) -> Self {
        ResourceBudget {
            state: Mutex::new(State {
                quota: quota.unwrap_or(QUOTA_SMALL).max(1),
                fixed: quota.is_some(),
                units: Window::default(),
                writes: Window::default(),
                write_quota: WRITE_QUOTA,
                paused_until: None,
                total: 0,
                requests: 0,
                documented_answered: 0,
                charged_answered: 0,
            }),
            room: Condvar::new(),
            window,
            write_window: WRITE_WINDOW,
        }
    }

    /// The same budget holding writes to `writes` requests per `window` instead of Graph's
    /// documented quota (an app that shares the quota with other tools, or a test server).
    pub fn with_write_quota(mut self, writes: u32, window: Duration) -> Self {
        self.write_window = window;
        if let Ok(state) = self.state.get_mut() {
            state.write_quota = writes.max(1);
        }
        self
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

    /// Waits until a request of documented cost `cost` carrying `writes` write requests fits
    /// into both windows, then counts it as spent: its units are reserved at the documented cost
    /// scaled by what Graph charged so far ([`ResourceBudget::charged`] corrects them once the
    /// answer says what it cost). A pause asked by a `Retry-After` is waited out through
    /// `sleep` (once) unless the request is itself a retry, which has waited already; the
    /// windows' waits are real time. A request costing more than the whole quota waits for an
    /// empty window and is then sent.
    #[expect(
        clippy::disallowed_methods,
        reason = "units leave the window as time passes"
    )]
    pub fn spend(&self, cost: u32, writes: u32, retry: bool, sleep: &dyn Fn(Duration)) -> Spent {
        let pause = self.state.lock().ok().and_then(|state| {
            state
                .paused_until
                .and_then(|until| until.checked_duration_since(Instant::now()))
        });
        if let (Some(pause), false) = (pause, retry) {
            sleep(pause);
        }
        let unaccounted = Spent {
            at: Instant::now(),
            units: cost,
            documented: cost,
        };
        let Ok(mut state) = self.state.lock() else {
            return unaccounted;
        };
        // Units and writes are held a twentieth of the window longer than Graph holds them: its
        // clock starts when a request arrives, a little after seatplan sent it.
        let held = self.window + self.window / 20;
        let write_held = self.write_window + self.write_window / 20;
        loop {
            let now = Instant::now();
            state.units.expire(now, held);
            state.writes.expire(now, write_held);
            let units = state.reservation(cost);
            let units_fit = state.units.fits(units, state.quota);
            let writes_fit = state.writes.fits(writes, state.write_quota);
            if units_fit && writes_fit {
                state.units.charged.push_back((now, units));
                if writes > 0 {
                    state.writes.charged.push_back((now, writes));
                }
                state.total += u64::from(units);
                state.requests += 1;
                return Spent {
                    at: now,
                    units,
                    documented: cost,
                };
            }
            let wait = match (units_fit, writes_fit) {
                (false, false) => state
                    .units
                    .wait(now, held)
                    .min(state.writes.wait(now, write_held)),
                (false, true) => state.units.wait(now, held),
                _ => state.writes.wait(now, write_held),
            };
            state = match self
                .room
                .wait_timeout(state, wait.max(Duration::from_millis(1)))
            {
                Ok((state, _)) => state,
                Err(_) => return unaccounted,
            };
        }
    }

    /// Graph said (`x-ms-resource-unit`) that the request counted as `spent` cost `units`: the
    /// account holds that instead of the reservation, and later reservations follow the ratio
    /// of what Graph charged to the documented costs.
    pub fn charged(&self, spent: Spent, units: u32) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if let Some(entry) = state
            .units
            .charged
            .iter_mut()
            .rev()
            .find(|(at, reserved)| *at == spent.at && *reserved == spent.units)
        {
            entry.1 = units;
        }
        state.total = (state.total + u64::from(units)).saturating_sub(u64::from(spent.units));
        state.documented_answered += u64::from(spent.documented);
        state.charged_answered += u64::from(units);
        if units < spent.units {
            self.room.notify_all();
        }
    }

    /// Graph answered 429: every request waits for `retry_after` (when given), and the quota
    /// assumed from now on — of write requests when a write was refused, of resource units
    /// otherwise — is three quarters of what it was.
    #[expect(
        clippy::disallowed_methods,
        reason = "a Retry-After pauses requests until a moment in time"
    )]
    pub fn throttled(&self, retry_after: Option<Duration>, write: bool) {
        if let Ok(mut state) = self.state.lock() {
            if let Some(after) = retry_after {
                let until = Instant::now() + after;
                state.paused_until = Some(state.paused_until.map_or(until, |old| old.max(until)));
            }
            if write {
                state.write_quota = (state.write_quota - state.write_quota / 4).max(1);
            } else {
                state.quota = (state.quota - state.quota / 4).max(1);
            }
        }
    }

    /// Units and requests counted since the client was made (units as Graph charged them,
    /// where its answers said).
    pub fn spent(&self) -> (u64, u64) {
        self.state
            .lock()
            .map_or((0, 0), |state| (state.total, state.requests))
    }

    /// The resource-unit quota assumed now.
    pub fn quota(&self) -> u32 {
        self.state.lock().map_or(0, |state| state.quota)
    }

    /// The write quota assumed now (requests per write window).
    pub fn write_quota(&self) -> u32 {
        self.state.lock().map_or(0, |state| state.write_quota)
    }

    /// The units a request of documented cost `cost` would be reserved at now.
    pub fn reservation(&self, cost: u32) -> u32 {
        self.state
            .lock()
            .map_or(cost, |state| state.reservation(cost))
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
        budget.throttled(None, false);
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
            budget.spend(2, 0, false, &|_| {});
        }
        assert!(start.elapsed() < Duration::from_millis(200));
        budget.spend(2, 0, false, &|_| {});
        assert!(start.elapsed() >= Duration::from_millis(200));
        assert_eq!(budget.spent(), (12, 6));
    }

    #[test]
    fn a_retry_after_pauses_other_requests_once_and_not_the_retry() {
        let budget = ResourceBudget::new(None, WINDOW);
        budget.throttled(Some(Duration::from_secs(30)), false);
        let waits = Mutex::new(Vec::new());
        let record = |wait: Duration| waits.lock().unwrap().push(wait);
        budget.spend(1, 0, true, &record);
        assert!(waits.lock().unwrap().is_empty());
        budget.spend(1, 0, false, &record);
        let waits = waits.into_inner().unwrap();
        assert_eq!(waits.len(), 1);
        assert!(waits[0] > Duration::from_secs(29));
    }

    #[test]
    fn graph_s_charge_replaces_the_reservation_and_scales_the_next_ones() {
        let budget = ResourceBudget::new(Some(100), WINDOW);
        assert_eq!(
            budget.reservation(2),
            2,
            "the documented cost until Graph says more"
        );
        let first = budget.spend(2, 0, false, &|_| {});
        budget.charged(first, 6);
        assert_eq!(budget.spent(), (6, 1));
        assert_eq!(budget.state.lock().unwrap().units.used(), 6);
        assert_eq!(budget.reservation(2), 6);
        assert_eq!(budget.reservation(1), 3);
        let second = budget.spend(2, 0, false, &|_| {});
        assert_eq!(budget.state.lock().unwrap().units.used(), 12);
        // Graph charged the second one its documented cost: the account drops, and the ratio
        // is now 8 charged for 4 documented.
        budget.charged(second, 2);
        assert_eq!(budget.spent(), (8, 2));
        assert_eq!(budget.state.lock().unwrap().units.used(), 8);
        assert_eq!(budget.reservation(3), 6);
    }

    #[test]
    fn a_charge_above_the_reservation_leaves_less_room_in_the_window() {
        let budget = ResourceBudget::new(Some(10), WINDOW);
        let spent = budget.spend(4, 0, false, &|_| {});
        assert!(budget.state.lock().unwrap().units.fits(6, 10));
        budget.charged(spent, 9);
        let state = budget.state.lock().unwrap();
        assert!(!state.units.fits(6, 10), "9 charged, 6 more pass the quota");
        assert!(state.units.fits(1, 10));
    }

    #[test]
    fn a_charge_reported_after_its_window_corrects_only_the_total() {
        // A window of zero: every charge has left it by the next request.
        let budget = ResourceBudget::new(Some(10), Duration::ZERO);
        let first = budget.spend(1, 0, false, &|_| {});
        budget.spend(1, 0, false, &|_| {});
        budget.charged(first, 5);
        assert_eq!(budget.spent(), (6, 2));
        assert_eq!(budget.state.lock().unwrap().units.used(), 1);
    }

    #[test]
    fn writes_fill_a_window_of_their_own() {
        assert_eq!(write_cost(Method::Get), 0);
        assert_eq!(write_cost(Method::Post), 1);
        assert_eq!(write_cost(Method::Patch), 1);
        assert_eq!(write_cost(Method::Delete), 1);
        let budget = ResourceBudget::new(Some(100), WINDOW).with_write_quota(2, WINDOW);
        assert_eq!(budget.write_quota(), 2);
        budget.spend(1, 1, false, &|_| {});
        budget.spend(1, 1, false, &|_| {});
        {
            let state = budget.state.lock().unwrap();
            assert!(
                !state.writes.fits(1, state.write_quota),
                "two writes of two"
            );
            assert!(
                state.writes.fits(0, state.write_quota),
                "a read carries no write"
            );
        }
        // A read is not held by the full write window (it returns at once).
        budget.spend(1, 0, false, &|_| {});
        assert_eq!(budget.spent(), (3, 3));
        assert_eq!(budget.write_quota(), 2);
        // A refused write lowers the write quota, a refused read the units'.
        let budget = ResourceBudget::new(Some(100), WINDOW);
        assert_eq!(budget.write_quota(), WRITE_QUOTA);
        budget.throttled(None, true);
        assert_eq!((budget.quota(), budget.write_quota()), (100, 2_250));
        budget.throttled(None, false);
        assert_eq!((budget.quota(), budget.write_quota()), (75, 2_250));
    }
}
