//! The Microsoft Graph edge: a blocking client ([`GraphClient`]) with client-credentials auth,
//! retries and paging; [`GraphClient::read_tenant`] reads a live tenant into a
//! [`crate::tenant::TenantState`] through the same mapping as `seatplan import graph`; the write
//! calls (`assignLicense`, group and user changes) that applying a plan needs.

// An edge module: it reads credentials from the environment and certificates from files.

mod answer;
mod auth;
mod batch;
pub mod budget;
mod client;
mod delta;
mod error;
mod read;
mod retry;
mod secret;
mod settings;
mod write;

pub use batch::BatchReader;
pub use client::{BatchRequest, BatchResponse, GraphClient, Method, BATCH_LIMIT};
pub use delta::Refreshed;
pub use error::{GraphError, GraphErrorKind, RequestIds};
pub use read::{path_segment, UserProperties};
pub use retry::{RetryPolicy, Sleeper};
pub use secret::{register as register_secret, scrub_output, Secret};
pub use settings::{Credential, GraphSettings, PUBLIC_GRAPH_BASE, PUBLIC_LOGIN_BASE};
pub use write::{
    group_nickname, DirectoryGroup, DirectoryUser, GroupPatch, LicenseProcessing, LicenseToAdd,
    NewGroup,
};
