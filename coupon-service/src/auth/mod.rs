//! Accounts and tokens: signup, login, refresh rotation, logout, JWKS, and
//! the extractors handlers use to require a user or an admin.

pub mod email;
pub mod extractor;
pub mod keys;
pub mod password;
pub mod password_gate;
pub mod refresh;
pub mod revocation;
pub mod revoked_sessions;
pub mod routes;

pub use extractor::{AdminUser, AuthUser};
