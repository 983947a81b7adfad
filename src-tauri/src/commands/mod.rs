//! Tauri commands: each one takes the session from the state and calls one pos-core function.

pub mod app;
pub mod audit;
pub mod backup;
pub mod diagnostics;
pub mod orders;
pub mod settings;
pub mod staff;
pub mod sync;
