//! Views: everything that turns seatplan's data into text for people or machines. Nothing here
//! decides anything; it only draws.

pub mod diagnostics;
pub mod markdown;
pub mod plan;
pub mod report;
