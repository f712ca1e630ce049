//! [`GraphError`]: what a Graph or identity-platform request that failed reports, and its
//! conversion into a diagnostic. Messages are scrubbed of secrets before they get here.

use std::fmt;

use crate::diag::{Code, Diagnostic};

/// Why a Graph request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphErrorKind {
    /// No usable credentials, or the identity platform refused them.
    Auth,
    /// The connection failed or timed out (after the retries).
    Transport,
    /// Graph kept answering 429 or 503 past the retry limit.
    Throttled,
    /// Graph answered with an error status.
    Status,
    /// Graph answered with a body seatplan could not read.
    InvalidResponse,
}

/// A failed Graph request: the request, the status and Graph's own error code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError {
    /// Why it failed.
    pub kind: GraphErrorKind,
    /// The request, as `METHOD /path` relative to the Graph or login base URL.
    pub request: String,
    /// The HTTP status, when there was a response.
    pub status: Option<u16>,
    /// Graph's error code (`Request_BadRequest`, `TooManyRequests`, `invalid_client`).
    pub code: Option<String>,
    /// What went wrong, in Graph's words where it gave some.
    pub message: String,
    /// The request's ids for a support case (boxed: errors travel in every `Result`).
    pub ids: Option<Box<RequestIds>>,
}

/// The ids Graph and seatplan gave one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestIds {
    /// Graph's `request-id` of the answer.
    pub request_id: Option<String>,
    /// The `client-request-id` seatplan sent with the request (Graph logs it too).
    pub client_request_id: Option<String>,
}

impl GraphError {
    /// An error of `kind` for `request` with a message and no response.
    pub fn new(
        kind: GraphErrorKind,
        request: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        GraphError {
            kind,
            request: request.into(),
            status: None,
            code: None,
            message: message.into(),
            ids: None,
        }
    }

    /// The same error with the request's ids.
    pub fn with_ids(
        mut self,
        request_id: Option<String>,
        client_request_id: Option<String>,
    ) -> Self {
        self.ids = Some(Box::new(RequestIds {
            request_id,
            client_request_id,
        }));
        self
    }

    /// The diagnostic to show for this error, with a help line fitting its kind.
    pub fn to_diagnostic(&self) -> Diagnostic {
        let code = match self.kind {
            GraphErrorKind::Auth => Code::GraphAuth,
            _ => Code::GraphRequest,
        };
        let help = match (self.kind, self.status) {
            (GraphErrorKind::Auth, _) => {
                "check SEATPLAN_TENANT_ID, SEATPLAN_CLIENT_ID and the client secret or \
                 certificate of the app registration"
            }
            (GraphErrorKind::Transport, _) => {
                "check the network and the Graph and login URLs, then run the command again"
            }
            (GraphErrorKind::Throttled, _) => {
                "Graph is throttling this tenant; wait a few minutes and run the command again"
            }
            (_, Some(401 | 403)) => {
                "grant the app registration the Graph application permissions seatplan needs \
                 (the README lists them) and an admin's consent"
            }
            (_, Some(404)) => "the object may have been deleted meanwhile; run `plan` again",
            _ => "run `plan` again to see the tenant as it is now",
        };
        Diagnostic::new(code, self.to_string()).with_help(help)
    }
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed", self.request)?;
        match (self.status, &self.code) {
            (Some(status), Some(code)) => write!(f, " ({status} {code})")?,
            (Some(status), None) => write!(f, " ({status})")?,
            (None, Some(code)) => write!(f, " ({code})")?,
            (None, None) => {}
        }
        write!(f, ": {}", self.message)?;
        let (request_id, client_request_id) = match &self.ids {
            Some(ids) => (&ids.request_id, &ids.client_request_id),
            None => (&None, &None),
        };
        match (request_id, client_request_id) {
            (Some(request), Some(client)) => {
                write!(f, " (request-id {request}, client-request-id {client})")
            }
            (Some(request), None) => write!(f, " (request-id {request})"),
            (None, Some(client)) => write!(f, " (client-request-id {client})"),
            (None, None) => Ok(()),
        }
    }
}

impl std::error::Error for GraphError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_request_status_and_graph_code() {
        let error = GraphError {
            kind: GraphErrorKind::Status,
            request: "POST /groups/1/assignLicense".into(),
            status: Some(400),
            code: Some("Request_BadRequest".into()),
            message: "plans are mutually exclusive".into(),
            ids: None,
        }
        .with_ids(Some("r-1".into()), Some("c-1".into()));
        assert_eq!(
            error.to_string(),
            "POST /groups/1/assignLicense failed (400 Request_BadRequest): plans are mutually \
             exclusive (request-id r-1, client-request-id c-1)"
        );
        assert_eq!(error.to_diagnostic().code, Code::GraphRequest);
        let auth = GraphError::new(GraphErrorKind::Auth, "POST /token", "refused");
        assert_eq!(auth.to_diagnostic().code, Code::GraphAuth);
    }
}
