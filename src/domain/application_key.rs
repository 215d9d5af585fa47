use super::secret::KeyDigest;
use super::time::Micros;
use uuid::Uuid;

/// An application key as stored. Its owner is fixed for life: no call moves it.
#[derive(Debug, Clone)]
pub struct ApplicationKey {
    pub id: Uuid,
    pub org_id: Uuid,
    pub owner_id: Uuid,
    pub name: String,
    pub digest: KeyDigest,
    pub sealed_key: Vec<u8>,
    pub last4: String,
    /// `None` = all of the owner's permissions.
    pub scopes: Option<Vec<String>>,
    pub created_at: Micros,
    pub last_used_at: Option<Micros>,
}
