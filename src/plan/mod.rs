//! The planner: from a loaded config and the current tenant to a plan — the desired state
//! ([`desired`]), the changes, the engine's before/after impact and the safety checks.

pub mod desired;
