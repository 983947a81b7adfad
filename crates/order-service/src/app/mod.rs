//! The application layer: each change to an order as one function, used alike by the HTTP
//! handlers (`crate::http::orders`) and by sync apply (`crate::http::sync`). A function takes an order
//! locked by [`crate::db::orders::lock`] and a change the domain rule (`pos_domain`) has
//! already accepted, and writes it with the domain event it publishes; the caller keeps what
//! differs by path (the HTTP request's own audit event and answer, a push's outcome).

pub mod create;
pub mod ledger;
pub mod lifecycle;
