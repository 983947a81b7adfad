//! The desktop's clock: the one shared with the service (see [`pos_domain::clock`]).

pub use pos_domain::clock::{Clock, SystemClock, TimeSource, UuidV7s};
