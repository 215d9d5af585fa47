//! Copying a whole installation from one store into another, empty one (`keyplane migrate`).
//! Through the `Store` trait only, so it works between any two backends; rows keep their ids,
//! timestamps and sealed secrets, and the target's triggers rebuild its counts and its own
//! change log. Console sessions are not copied: they are short-lived, and users sign in again.
//! The audit trail is verified as it is read and re-keyed as it lands (see `copy_audit`).

use super::{Store, StoreError, StoreResult};
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
    pub users: u64,
    pub api_keys: u64,
    pub application_keys: u64,
    pub client_tokens: u64,
    pub audit_records: u64,
}

impl Totals {
    pub fn rows(&self) -> u64 {
        self.orgs
            + self.users
            + self.api_keys
            + self.application_keys
            + self.client_tokens
            + self.audit_records
    }
}

fn first_page() -> Page {
    Page {
        size: PAGE,
        number: 0,
    }
}

fn ascending<F>(field: F) -> Sort<F> {
    Sort {
        field,
        descending: false,
    }
}

/// Every user of the organization, oldest first.
pub async fn all_users(store: &dyn Store, org_id: Uuid) -> StoreResult<Vec<User>> {
    let mut query = UserQuery {
        filter: None,
        statuses: Vec::new(),
        sort: ascending(UserSortField::CreatedAt),
        page: first_page(),
    };
    let mut all = Vec::new();
    loop {
        let (users, _, total) = store.list_users(org_id, &query).await?;
        let done = users.is_empty();
        all.extend(users);
        if done || all.len() as u64 >= total {
            return Ok(all);
        }
        query.page.number += 1;
    }
}

/// Every API key of the organization, oldest first.
pub async fn all_api_keys(store: &dyn Store, org_id: Uuid) -> StoreResult<Vec<ApiKey>> {
    let mut query = ApiKeyQuery {
        filter: ApiKeyFilter::default(),
        sort: ascending(ApiKeySortField::CreatedAt),
        page: first_page(),
    };
    let mut all = Vec::new();
    loop {
        let (keys, total) = store.list_api_keys(org_id, &query).await?;
        let done = keys.is_empty();
        all.extend(keys);
        if done || all.len() as u64 >= total {
            return Ok(all);
        }
        query.page.number += 1;
    }
}

/// Every application key of the organization, oldest first.
pub async fn all_application_keys(
    store: &dyn Store,
    org_id: Uuid,
) -> StoreResult<Vec<ApplicationKey>> {
    let mut query = ApplicationKeyQuery {
        filter: ApplicationKeyFilter::default(),
        sort: ascending(ApplicationKeySortField::CreatedAt),
        page: first_page(),
    };
    let mut all = Vec::new();
    loop {
        let (keys, total) = store.list_application_keys(org_id, &query).await?;
        let done = keys.is_empty();
        all.extend(keys);
        if done || all.len() as u64 >= total {
            return Ok(all);
        }
        query.page.number += 1;
    }
}

fn token_query(page: Page) -> ClientTokenQuery {
    ClientTokenQuery {
        filter: ClientTokenFilter::default(),
        sort: ascending(ClientTokenSortField::CreatedAt),
        page,
    }
}

/// Every client token of the organization, oldest first.
pub async fn all_client_tokens(store: &dyn Store, org_id: Uuid) -> StoreResult<Vec<ClientToken>> {
    let mut query = token_query(first_page());
    let mut all = Vec::new();
    loop {
        let (tokens, total) = store.list_client_tokens(org_id, &query).await?;
        let done = tokens.is_empty();
        all.extend(tokens);
        if done || all.len() as u64 >= total {
            return Ok(all);
        }
        query.page.number += 1;
    }
}

/// Counts every row of the installation.
pub async fn totals(store: &dyn Store) -> StoreResult<Totals> {
    let mut totals = Totals::default();
    let one = Page { size: 1, number: 0 };
    for org in store.list_orgs().await? {
        totals.orgs += 1;
        let users = UserQuery {
            filter: None,
            statuses: Vec::new(),
            sort: ascending(UserSortField::CreatedAt),
            page: one,
        };
        totals.users += store.list_users(org.id, &users).await?.2;
        let api = ApiKeyQuery {
            filter: ApiKeyFilter::default(),
            sort: ascending(ApiKeySortField::CreatedAt),
            page: one,
        };
        totals.api_keys += store.list_api_keys(org.id, &api).await?.1;
        let app = ApplicationKeyQuery {
            filter: ApplicationKeyFilter::default(),
            sort: ascending(ApplicationKeySortField::CreatedAt),
            page: one,
        };
        totals.application_keys += store.list_application_keys(org.id, &app).await?.1;
        totals.client_tokens += store.list_client_tokens(org.id, &token_query(one)).await?.1;
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
    // Page by page, so memory stays bounded whatever the installation's size; the source
    // is not written meanwhile, so offset pages are stable.
    let mut users = UserQuery {
        filter: None,
        statuses: Vec::new(),
        sort: ascending(UserSortField::CreatedAt),
        page: first_page(),
    };
    loop {
        let (page, _, _) = from.list_users(org.id, &users).await?;
        to.import_users(&page).await?;
        totals.users += page.len() as u64;
        copied(page.len() as u64);
        if page.len() < PAGE as usize {
            break;
        }
        users.page.number += 1;
    }
    let mut api = ApiKeyQuery {
        filter: ApiKeyFilter::default(),
        sort: ascending(ApiKeySortField::CreatedAt),
        page: first_page(),
    };
    loop {
        let (page, _) = from.list_api_keys(org.id, &api).await?;
        to.import_api_keys(&page).await?;
        totals.api_keys += page.len() as u64;
        copied(page.len() as u64);
        if page.len() < PAGE as usize {
            break;
        }
        api.page.number += 1;
    }
    let mut app = ApplicationKeyQuery {
        filter: ApplicationKeyFilter::default(),
        sort: ascending(ApplicationKeySortField::CreatedAt),
        page: first_page(),
    };
    loop {
        let (page, _) = from.list_application_keys(org.id, &app).await?;
        to.import_application_keys(&page).await?;
        totals.application_keys += page.len() as u64;
        copied(page.len() as u64);
        if page.len() < PAGE as usize {
            break;
        }
        app.page.number += 1;
    }
    let mut tokens = token_query(first_page());
    loop {
        let (page, _) = from.list_client_tokens(org.id, &tokens).await?;
        to.import_client_tokens(&page).await?;
        totals.client_tokens += page.len() as u64;
        copied(page.len() as u64);
        if page.len() < PAGE as usize {
            break;
        }
        tokens.page.number += 1;
    }
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
