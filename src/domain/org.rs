use super::time::Micros;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct Org {
    pub id: Uuid,
    pub name: String,
    /// Datadog's One-Time Read mode: application key secrets are shown only at creation.
    pub one_time_read: bool,
    pub created_at: Micros,
    /// The organization's number (1, 2, …), assigned by the store when it is created and
    /// never changed: the tenant id of backends that take integers (the gate's
    /// `X-Keyplane-Org-Num`). `None` only for an organization not stored yet.
    pub num: Option<u32>,
}
