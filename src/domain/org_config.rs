//! Org configs: Datadog's per-organization settings (`/api/v2/org_configs`), with Datadog's
//! names and value types. keyplane honours a few of them; the others are kept and read
//! back so that tools managing them (Terraform's `datadog_organization_settings`) work.

use super::time::Micros;
use serde_json::Value;
use uuid::Uuid;

/// The name under which One-Time Read mode is an org config (Datadog offers no API for it).
pub const ONE_TIME_READ: &str = "one_time_read_application_keys";
pub const LONG_INVITATIONS: &str = "30d_invite_expiration";
pub const ADMIN_ONLY_INVITES: &str = "admin_only_invites";
/// keyplane's own: the longest lifetime, in days, of a new key (null or 0: unlimited).
pub const MAX_KEY_LIFETIME_DAYS: &str = "max_key_lifetime_days";
/// Ten thousand years is longer than any timestamp keyplane renders.
const MAX_DAYS: u64 = 3_650_000;
/// keyplane's own: what a leak report does to the key it names (`flag` or `revoke`).
pub const LEAKED_KEYS_ACTION: &str = "leaked_keys_action";
/// keyplane's own: where this organization's key events are posted, besides `--webhook-url`.
pub const WEBHOOK_URL: &str = "webhook_url";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    Bool,
    /// One word out of a set Datadog does not publish; any short token is taken.
    Enum,
    List,
    EmailDomainList,
    SecurityContactsList,
    /// A whole number of days, or null for none.
    Days,
    /// An http(s) URL, or null for none.
    Url,
}

impl ValueType {
    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::Bool => "bool",
            ValueType::Enum => "enum",
            ValueType::List => "list",
            ValueType::EmailDomainList => "email_domain_list",
            ValueType::SecurityContactsList => "security_contacts_list",
            ValueType::Days => "int",
            ValueType::Url => "string",
        }
    }
}

/// One entry of the catalog.
#[derive(Debug)]
pub struct OrgConfigDef {
    pub name: &'static str,
    pub description: &'static str,
    pub value_type: ValueType,
    default: Initial,
    /// Whether keyplane acts on the value (said in the description too).
    pub honoured: bool,
}

#[derive(Debug)]
enum Initial {
    Bool(bool),
    Text(&'static str),
    EmptyList,
    Null,
}

const fn def(
    name: &'static str,
    description: &'static str,
    value_type: ValueType,
    default: Initial,
    honoured: bool,
) -> OrgConfigDef {
    OrgConfigDef {
        name,
        description,
        value_type,
        default,
        honoured,
    }
}

use Initial::{Bool, EmptyList, Null, Text};
use ValueType as T;

/// Datadog's configs (as its API listed them in 2024) and keyplane's own, in Datadog's order.
pub static CATALOG: &[OrgConfigDef] = &[
    def("domain_allowlist", "domain allowlist for emails to be sent. Kept by keyplane, which sends no email.", T::EmailDomainList, EmptyList, false),
    def("enable_domain_allowlist", "domain allowlist enablement for emails to be sent. Kept by keyplane, which sends no email.", T::Bool, Bool(false), false),
    def(LONG_INVITATIONS, "This will set the expiration date of Org invites to 30 days instead of the default 2 days. Honoured by keyplane.", T::Bool, Bool(false), true),
    def("oauth_client_disallow_list", "Disallow list for oauth clients users can authorize with in a given org. Kept by keyplane; it has no OAuth clients.", T::List, EmptyList, false),
    def("restrict_export_to_csv", "Disables the ability to export Logs to CSV via the API and UI for all users of an org. Kept by keyplane; not used.", T::Bool, Bool(false), false),
    def("pci_enabled", "pci compliance is enabled for this org. Kept by keyplane; not used.", T::Bool, Bool(false), false),
    def("invalid_session_forced_logout", "Force reload on current_user 403 response / invalid session. Kept by keyplane; not used.", T::Bool, Bool(false), false),
    def("custom_roles", "Enables the custom roles (RBAC) UI. Kept by keyplane; not used.", T::Bool, Bool(false), false),
    def("log_anomaly_detection", "Whether the API should return results for Logs Anomaly detection. Kept by keyplane; not used.", T::Bool, Bool(true), false),
    def("open_retentions", "Enables users to set out of contract retentions. Kept by keyplane; not used.", T::Bool, Bool(false), false),
    def(ADMIN_ONLY_INVITES, "Restrict user invites to only admins (holders of user_access_manage). Honoured by keyplane.", T::Bool, Bool(false), true),
    def("security_contacts", "List of emails for security event notifications of an organization. Kept by keyplane, which sends no email.", T::SecurityContactsList, EmptyList, false),
    def("teams_manage_membership", "Controls who can manage membership for teams. Kept by keyplane; not used.", T::Enum, Text("organization"), false),
    def("teams_edit_details", "Controls who can edit team details. Kept by keyplane; not used.", T::Enum, Text("members"), false),
    def("teams_provisioning_sources", "Determines how users can be added to teams. Kept by keyplane; not used.", T::Enum, Text("manually"), false),
    def("monitor_timezone", "Sets the time zone used for monitoring alerts. Kept by keyplane; not used.", T::Enum, Text("UTC"), false),
    def(ONE_TIME_READ, "One-Time Read mode: application key secrets are shown only when the key is created, and v1's application key endpoints are disabled. Changing it needs org_management and org_app_keys_write. Honoured by keyplane.", T::Bool, Bool(true), true),
    def(MAX_KEY_LIFETIME_DAYS, "keyplane's own: the longest lifetime in days of a new API key, application key or client token; a key created without expires_at expires that many days after its creation. null or 0: unlimited. Honoured by keyplane.", T::Days, Null, true),
    def(LEAKED_KEYS_ACTION, "What a key reported through POST /api/v2/credentials/leaked becomes: flag (marked as leaked, still valid) or revoke (deleted at once; an organization's last API key is flagged instead). Honoured by keyplane.", T::Enum, Text("flag"), true),
    def(WEBHOOK_URL, "keyplane's own: an http(s) URL to which this organization's key events (created, rotated, revoked, reported leaked) are posted, signed with the installation's --webhook-secret-file; null: none. Honoured by keyplane.", T::Url, Null, true),
];

pub fn find(name: &str) -> Option<&'static OrgConfigDef> {
    CATALOG.iter().find(|d| d.name == name)
}

const MAX_ITEMS: usize = 100;
const MAX_TEXT: usize = 255;

impl OrgConfigDef {
    /// The same id in every organization, as Datadog's ids (version 5 of the name).
    pub fn id(&self) -> Uuid {
        const NAMESPACE: Uuid = Uuid::from_u128(0x1f0e_8a2c_5b3d_4c6e_9a7b_0d1e_2f3a_4b5c);
        Uuid::new_v5(&NAMESPACE, self.name.as_bytes())
    }

    pub fn default_value(&self) -> Value {
        match self.default {
            Bool(b) => Value::Bool(b),
            Text(t) => Value::String(t.to_owned()),
            EmptyList => Value::Array(Vec::new()),
            Null => Value::Null,
        }
    }

    /// Whether `value` is one this config takes.
    pub fn accepts(&self, value: &Value) -> bool {
        match self.value_type {
            ValueType::Bool => value.is_boolean(),
            // Only this one's choices are known: the others' values are Datadog's to define.
            ValueType::Enum if self.name == LEAKED_KEYS_ACTION => value
                .as_str()
                .is_some_and(|v| super::leak::LeakAction::CHOICES.contains(&v)),
            ValueType::Enum => value.as_str().is_some_and(is_token),
            ValueType::List => list_of(value, |s| !s.is_empty()),
            ValueType::EmailDomainList => list_of(value, is_domain),
            ValueType::SecurityContactsList => list_of(value, is_email),
            ValueType::Days => value.is_null() || value.as_u64().is_some_and(|d| d <= MAX_DAYS),
            ValueType::Url => super::webhook::accepts_url(value),
        }
    }
}

fn list_of(value: &Value, item: impl Fn(&str) -> bool) -> bool {
    value.as_array().is_some_and(|items| {
        items.len() <= MAX_ITEMS
            && items
                .iter()
                .all(|v| v.as_str().is_some_and(|s| s.len() <= MAX_TEXT && item(s)))
    })
}

/// Enum values such as `UTC`, `America/New_York`, `Etc/GMT+2`, `organization`.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_/+-".contains(c))
}

fn is_domain(s: &str) -> bool {
    let s = s.strip_prefix('@').unwrap_or(s);
    s.contains('.')
        && s.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

fn is_email(s: &str) -> bool {
    s.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && !local.contains(char::is_whitespace) && is_domain(domain)
    })
}

/// A config's value as the organization holds it.
#[derive(Debug, Clone)]
pub struct OrgConfig {
    pub def: &'static OrgConfigDef,
    pub value: Value,
    /// When it was last changed; `None` while it holds its default.
    pub modified_at: Option<Micros>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_checked_against_the_type() {
        let roles = find("custom_roles").map(|d| d.accepts(&json!("not-a-boolean")));
        assert_eq!(roles, Some(false));
        let tz = find("monitor_timezone");
        assert_eq!(tz.map(|d| d.accepts(&json!("UTC"))), Some(true));
        assert_eq!(tz.map(|d| d.accepts(&json!("UTC; DROP"))), Some(false));
        let contacts = find("security_contacts");
        assert_eq!(
            contacts.map(|d| d.accepts(&json!(["sec@example.com"]))),
            Some(true)
        );
        assert_eq!(contacts.map(|d| d.accepts(&json!(["nobody"]))), Some(false));
        let leaks = find(LEAKED_KEYS_ACTION);
        assert_eq!(leaks.map(|d| d.accepts(&json!("revoke"))), Some(true));
        assert_eq!(leaks.map(|d| d.accepts(&json!("delete"))), Some(false));
        assert!(find("i_dont_exist").is_none());
    }

    #[test]
    fn key_lifetime_is_null_or_whole_days() {
        let days = find(MAX_KEY_LIFETIME_DAYS);
        assert_eq!(days.map(|d| d.accepts(&json!(null))), Some(true));
        assert_eq!(days.map(|d| d.accepts(&json!(90))), Some(true));
        assert_eq!(days.map(|d| d.accepts(&json!(0))), Some(true));
        assert_eq!(days.map(|d| d.accepts(&json!(-1))), Some(false));
        assert_eq!(days.map(|d| d.accepts(&json!(1.5))), Some(false));
        assert_eq!(days.map(|d| d.accepts(&json!("90"))), Some(false));
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let ids: std::collections::HashSet<_> = CATALOG.iter().map(OrgConfigDef::id).collect();
        assert_eq!(ids.len(), CATALOG.len());
        assert_eq!(
            find(ONE_TIME_READ).map(|d| d.id()),
            find(ONE_TIME_READ).map(|d| d.id())
        );
    }
}
