//! Domain rules of Offline Order POS, written once and used by both the desktop core and the
//! central order-service. No I/O lives here.

pub mod backup;
pub mod clock;
pub mod customer;
pub mod dates;
pub mod draft;
pub mod edit;
pub mod error;
pub mod figures;
pub mod hlc;
pub mod ids;
pub mod items;
pub mod ledger;
pub mod lockout;
pub mod money;
pub mod patch;
pub mod preview;
pub mod role;
pub mod schedule;
pub mod search;
pub mod staff;
pub mod status;
pub mod terms;
pub mod text;
pub mod zone;

pub use clock::{Clock, SystemClock, TimeSource, UuidV7s};
pub use customer::{Channel, CountryCode, Customer};
pub use error::ValidationError;
pub use hlc::Hlc;
pub use ids::{OrderId, PaymentId, StaffId};
pub use items::{ItemInput, LineItem, Totals};
pub use ledger::LedgerError;
pub use lockout::Lockout;
pub use money::{Currency, Money};
pub use patch::Patch;
pub use role::Role;
pub use schedule::{EntryKind, EntryStatus, ScheduleEntry, ScheduleLine};
pub use search::SearchKind;
pub use status::{OrderStatus, PaymentMethod, Standing};
pub use terms::{Interval, PaymentTerms};
pub use zone::ShopZone;
