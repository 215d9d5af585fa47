use super::time::Micros;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct Org {
    pub id: Uuid,
    pub name: String,
    /// Datadog's One-Time Read mode: application key secrets are shown only at creation.
    pub one_time_read: bool,
    pub created_at: Micros,
}
