//! Fan-out across instances (docs/contract.md §4): the instance that consumed a
//! message runs one Lua call (dedupe by message id, append to the user's
//! history, PUBLISH); every instance's [`subscriber`] delivers to its local
//! connections.

pub mod keys;
pub mod recent_ids;
pub mod store;
pub mod subscriber;
pub mod wire;
