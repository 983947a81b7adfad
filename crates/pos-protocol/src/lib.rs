//! Wire types shared by the desktop POS and the central order-service. Amounts travel as
//! decimal strings; times as RFC 3339 UTC with microseconds.

pub mod audit;
pub mod events;
pub mod mutation;
pub mod sync;
pub mod time;

pub use audit::{verify_chain, AuditAction, AuditEvent, ChainBreak, FieldChange, GENESIS_HASH};
pub use events::DomainEvent;
pub use mutation::{Approval, Mutation, MutationBody, OrderSnapshot, PaymentRecord};
pub use sync::{
    AuditAck, CentralChange, CentralDeletion, CentralOrder, CentralOrderState, CentralPayment,
    DeviceTokenRequest, MutationResult, MutationStatus, OrdersRequest, OrdersResponse, PairRequest,
    PairResponse, PullResponse, PushRequest, PushResponse, RecoverRequest, RecoverResponse,
    RecoveredOrder, StaffRecord, MAX_ORDERS_PER_REQUEST, MAX_PUSH_BYTES, PUSH_BUDGET_BYTES,
    RECOVER_AUDIT_PAGE, RECOVER_CHANGES_PAGE,
};
