//! The WebSocket endpoint: admission of the upgrade ([`route`],
//! [`admission`], [`unauthenticated`]), one task per
//! socket ([`connection`]) and the ordering of personal messages around
//! `resume` ([`personal`]).

pub mod admission;
pub mod budget;
pub mod connection;
pub mod personal;
pub mod route;
pub mod unauthenticated;
