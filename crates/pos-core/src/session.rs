use pos_domain::{Role, StaffId};
use serde::Serialize;

/// A logged-in staff member. Only the core creates one (after a PIN check); every operation
/// takes it to know who acts and what they may do.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Session {
    staff_id: StaffId,
    name: String,
    role: Role,
}

impl Session {
    pub(crate) fn new(staff_id: StaffId, name: String, role: Role) -> Self {
        Session {
            staff_id,
            name,
            role,
        }
    }

    pub fn staff_id(&self) -> StaffId {
        self.staff_id
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn role(&self) -> Role {
        self.role
    }
}
