//! Copying a whole installation from one store into another, empty one (`keyplane migrate`).
//! Through the `Store` trait only, so it works between any two backends; rows keep their ids,
//! timestamps and sealed secrets, and the target's triggers rebuild its counts and its own
//! change log. Custom roles and access tokens come along; console sessions are not copied:
//! they are short-lived, and users sign in again.
//! The audit trail is verified as it is read and re-keyed as it lands (see `copy_audit`).

use super::{Store, StoreError, StoreResult};
use crate::domain::access_token::{
    AccessToken, AccessTokenFilter, AccessTokenQuery, AccessTokenSortField,
};
use crate::domain::api_key::{ApiKey, ApiKeyFilter, ApiKeyQuery, ApiKeySortField};
use crate::domain::application_key::{
    ApplicationKey, ApplicationKeyFilter, ApplicationKeyQuery, ApplicationKeySortField,
};
use crate::domain::audit::{AuditHead, AuditKey, AuditRecord, Broken, Verifier};
use crate::domain::client_token::{
    ClientToken, ClientTokenFilter, ClientTokenQuery, ClientTokenSortField,
};
use crate::domain::list::{Page, Sort};
use crate::domain::org::Org;
use crate::domain::user::{User, UserQuery, UserSortField};
use uuid::Uuid;

const PAGE: u32 = 500;

/// How many rows of each kind an installation holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub orgs: u64,
    pub roles: u64,
    pub users: u64,
    pub api_keys: u64,
    pub application_keys: u64,
    pub client_tokens: u64,
    pub access_tokens: u64,
    pub audit_records: u64,
}

impl Totals {
    pub fn rows(&self) -> u64 {
        self.orgs
            + self.roles
            + self.users
            + self.api_keys
            + self.application_keys
            + self.client_tokens
            + self.access_tokens
            + self.audit_records
    }
}

fn ascending<F>(field: F) -> Sort<F> {
    Sort {
        field,
        descending: false,
    }
}

fn user_query(page: Page) -> UserQuery {
    UserQuery {
        filter: None,
        statuses: Vec::new(),
        sort: ascending(UserSortField::CreatedAt),
        page,
    }
}

fn api_key_query(page: Page) -> ApiKeyQuery {
    ApiKeyQuery {
        filter: ApiKeyFilter::default(),
        sort: ascending(ApiKeySortField::CreatedAt),
        page,
    }
}

fn application_key_query(page: Page) -> ApplicationKeyQuery {
    ApplicationKeyQuery {
        filter: ApplicationKeyFilter::default(),
        sort: ascending(ApplicationKeySortField::CreatedAt),
        page,
    }
}

fn client_token_query(page: Page) -> ClientTokenQuery {
    ClientTokenQuery {
        filter: ClientTokenFilter::default(),
        sort: ascending(ClientTokenSortField::CreatedAt),
        page,
    }
}

fn access_token_query(page: Page) -> AccessTokenQuery {
    AccessTokenQuery {
        filter: AccessTokenFilter::default(),
        sort: ascending(AccessTokenSortField::CreatedAt),
        page,
    }
}

/// Hands every page of a list, oldest rows first, to `each`. Offset pages are stable because
/// the source is not written meanwhile; memory stays bounded by one page.
async fn each_page<T>(
    mut list: impl AsyncFnMut(Page) -> StoreResult<Vec<T>>,
    mut each: impl AsyncFnMut(Vec<T>) -> StoreResult<()>,
) -> StoreResult<()> {
    let mut page = Page {
        size: PAGE,
        number: 0,
    };
    loop {
        let rows = list(page).await?;
        let last = rows.len() < PAGE as usize;
        each(rows).await?;
        if last {
            return Ok(());
        }
        page.number += 1;
    }
}

/// Every row of a list, oldest first.
async fn collect<T>(list: impl AsyncFnMut(Page) -> StoreResult<Vec<T>>) -> StoreResult<Vec<T>> {
    let mut all = Vec::new();
    each_page(list, async |rows| {
        all.extend(rows);
        Ok(())
    })
    .await?;
    Ok(all)
}

/// Every user of the organization, oldest first.
pub async fn all_users(store: &dyn Store, org_id: Uuid) -> StoreResult<Vec<User>> {
    collect(async |page| Ok(store.list_users(org_id, &user_query(page)).await?.0)).await
}

/// Every API key of the organization, oldest first.
pub async fn all_api_keys(store: &dyn Store, org_id: Uuid) -> StoreResult<Vec<ApiKey>> {
    collect(async |page| Ok(store.list_api_keys(org_id, &api_key_query(page)).await?.0)).await
}

/// Every application key of the organization, oldest first.
pub async fn all_application_keys(
    store: &dyn Store,
    org_id: Uuid,
) -> StoreResult<Vec<ApplicationKey>> {
    collect(async |page| {
        let query = application_key_query(page);
        Ok(store.list_application_keys(org_id, &query).await?.0)
    })
    .await
}

/// Every client token of the organization, oldest first.
pub async fn all_client_tokens(store: &dyn Store, org_id: Uuid) -> StoreResult<Vec<ClientToken>> {
    collect(async |page| {
        let query = client_token_query(page);
        Ok(store.list_client_tokens(org_id, &query).await?.0)
    })
    .await
}

/// Every personal and service-account access token of the organization, oldest first.
pub async fn all_access_tokens(store: &dyn Store, org_id: Uuid) -> StoreResult<Vec<AccessToken>> {
    collect(async |page| {
        let query = access_token_query(page);
        Ok(store.list_access_tokens(org_id, &query).await?.0)
    })
    .await
}

/// Counts every row of the installation.
pub async fn totals(store: &dyn Store) -> StoreResult<Totals> {
    let mut totals = Totals::default();
    let one = Page { size: 1, number: 0 };
    for org in store.list_orgs().await? {
        totals.orgs += 1;
        totals.roles += store.list_roles(org.id).await?.len() as u64;
        totals.users += store.list_users(org.id, &user_query(one)).await?.2;
        totals.api_keys += store.list_api_keys(org.id, &api_key_query(one)).await?.1;
        let app = application_key_query(one);
        totals.application_keys += store.list_application_keys(org.id, &app).await?.1;
        let client = client_token_query(one);
        totals.client_tokens += store.list_client_tokens(org.id, &client).await?.1;
        let access = access_token_query(one);
        totals.access_tokens += store.list_access_tokens(org.id, &access).await?.1;
    }
    let head = store.audit_head().await?.map(|h| h.seq).unwrap_or(0);
    totals.audit_records = u64::try_from(head).unwrap_or(0);
    Ok(totals)
}

/// Why a copy did not start or did not finish.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("the target database already holds {0} organization(s); migrate copies only into an empty database")]
    TargetNotEmpty(u64),
    #[error("the target's audit trail is not empty; migrate copies only into an empty database")]
    TargetHasAudit,
    #[error("audit record {0} did not land at the same position in the target")]
    AuditChain(i64),
    #[error("the source's audit trail does not verify, so it is not copied: {0}")]
    AuditBroken(Broken),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Copies every organization with its users and keys from `from` into the empty `to`,
/// calling `copied` with the number of rows after each write. No key limit applies: the rows are copied as they are.
/// `key` is the installation's audit key (from its master key).
pub async fn copy_installation(
    from: &dyn Store,
    to: &dyn Store,
    key: &AuditKey,
    mut copied: impl FnMut(u64),
) -> Result<Totals, CopyError> {
    let present = to.org_count().await?;
    if present > 0 {
        return Err(CopyError::TargetNotEmpty(present));
    }
    if to.audit_head().await?.is_some() {
        return Err(CopyError::TargetHasAudit);
    }
    // A broken trail is refused before anything is written, so the target stays empty.
    VerifiedTrail::open(from, key).await?.check_all().await?;
    let mut totals = Totals::default();
    for org in from.list_orgs().await? {
        copy_org(from, to, &org, &mut totals, &mut copied).await?;
    }
    copy_audit(from, to, key, &mut totals, &mut copied).await?;
    Ok(totals)
}

/// The audit trail, in chain order. Each record is verified under the source's rules as it
/// is read (a broken trail is not laundered into a fresh chain), then appended to the empty
/// target, which links every record by MAC: records the source kept under the unkeyed
/// rule of before migration 0005 are keyed in the target. Positions and events stay the same.
async fn copy_audit(
    from: &dyn Store,
    to: &dyn Store,
    key: &AuditKey,
    totals: &mut Totals,
    copied: &mut impl FnMut(u64),
) -> Result<(), CopyError> {
    let mut trail = VerifiedTrail::open(from, key).await?;
    while let Some(page) = trail.next_page().await? {
        for record in &page {
            let landed = to.append_audit(&record.event, key).await?;
            if landed.seq != record.seq || landed.event != record.event {
                return Err(CopyError::AuditChain(record.seq));
            }
        }
        totals.audit_records += page.len() as u64;
        copied(page.len() as u64);
    }
    Ok(())
}

/// The source's trail page by page, each record (and at the end the head) verified under the
/// source's rules before it is handed out.
struct VerifiedTrail<'a> {
    from: &'a dyn Store,
    head: Option<AuditHead>,
    verifier: Verifier,
    after: i64,
    done: bool,
}

impl<'a> VerifiedTrail<'a> {
    async fn open(from: &'a dyn Store, key: &AuditKey) -> Result<Self, CopyError> {
        let head = from.audit_head().await?;
        let verifier = Verifier::new(key.clone(), head.as_ref(), None);
        verifier
            .check_head(head.as_ref())
            .map_err(CopyError::AuditBroken)?;
        Ok(Self {
            from,
            head,
            verifier,
            after: 0,
            done: false,
        })
    }

    /// Walks the whole trail, copying nothing.
    async fn check_all(mut self) -> Result<(), CopyError> {
        while self.next_page().await?.is_some() {}
        Ok(())
    }

    async fn next_page(&mut self) -> Result<Option<Vec<AuditRecord>>, CopyError> {
        if self.done {
            return Ok(None);
        }
        let page = self.from.audit_records(self.after, PAGE).await?;
        for record in &page {
            self.verifier
                .check(record)
                .map_err(CopyError::AuditBroken)?;
            self.after = record.seq;
        }
        if page.len() < PAGE as usize {
            self.done = true;
            self.verifier
                .finish(self.head.as_ref())
                .map_err(CopyError::AuditBroken)?;
        }
        Ok(Some(page))
    }
}

async fn copy_org(
    from: &dyn Store,
    to: &dyn Store,
    org: &Org,
    totals: &mut Totals,
    copied: &mut impl FnMut(u64),
) -> StoreResult<()> {
    to.create_org(org).await?;
    totals.orgs += 1;
    copied(1);
    // Custom roles before the users who hold them.
    let roles = from.list_roles(org.id).await?;
    for role in &roles {
        to.create_role(role).await?;
    }
    totals.roles += roles.len() as u64;
    copied(roles.len() as u64);
    let id = org.id;
    let mut landed = |count: &mut u64, rows: usize| {
        *count += rows as u64;
        copied(rows as u64);
    };
    each_page(
        async |page| Ok(from.list_users(id, &user_query(page)).await?.0),
        async |rows| {
            to.import_users(&rows).await?;
            landed(&mut totals.users, rows.len());
            Ok(())
        },
    )
    .await?;
    each_page(
        async |page| Ok(from.list_api_keys(id, &api_key_query(page)).await?.0),
        async |rows| {
            to.import_api_keys(&rows).await?;
            landed(&mut totals.api_keys, rows.len());
            Ok(())
        },
    )
    .await?;
    each_page(
        async |page| {
            let query = application_key_query(page);
            Ok(from.list_application_keys(id, &query).await?.0)
        },
        async |rows| {
            to.import_application_keys(&rows).await?;
            landed(&mut totals.application_keys, rows.len());
            Ok(())
        },
    )
    .await?;
    each_page(
        async |page| {
            let query = client_token_query(page);
            Ok(from.list_client_tokens(id, &query).await?.0)
        },
        async |rows| {
            to.import_client_tokens(&rows).await?;
            landed(&mut totals.client_tokens, rows.len());
            Ok(())
        },
    )
    .await?;
    // Access tokens keep their ids: a presented token names its row by its id.
    each_page(
        async |page| {
            let query = access_token_query(page);
            Ok(from.list_access_tokens(id, &query).await?.0)
        },
        async |rows| {
            to.import_access_tokens(&rows).await?;
            landed(&mut totals.access_tokens, rows.len());
            Ok(())
        },
    )
    .await?;
    // A handful of rows per organization at most. Invitations stay behind: their links
    // belong to the old installation's console, and inviting again is cheap.
    for config in from.org_configs(org.id).await? {
        to.put_org_config(org.id, &config).await?;
    }
    // A revoked key's leak stays on record, as in the source.
    for leak in from.org_leaks(org.id).await? {
        to.record_leak(&leak).await?;
    }
    Ok(())
}
