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
    /// What the role may do, for the UI to show or hide (the core still checks every call).
    can_approve: bool,
    can_manage_staff: bool,
}

impl Session {
    pub(crate) fn new(staff_id: StaffId, name: String, role: Role) -> Self {
        Session {
            staff_id,
            name,
            role,
            can_approve: role.can_approve(),
            can_manage_staff: role.can_manage_staff(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_follow_the_role() {
        let s = |role| Session::new(StaffId::from(uuid::Uuid::nil()), "x".into(), role);
        let json = |role| serde_json::to_value(s(role)).unwrap();
        assert_eq!(json(Role::Cashier)["can_approve"], false);
        assert_eq!(json(Role::Manager)["can_approve"], true);
        assert_eq!(json(Role::Manager)["can_manage_staff"], false);
        assert_eq!(json(Role::Owner)["can_manage_staff"], true);
    }
}
