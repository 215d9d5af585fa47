//! The official `datadog-api-client` crate against a real keyplane: application keys on all
//! three surfaces (current user, organization, service account), service accounts, users and
//! roles go through the typed client, so any response it cannot deserialize fails here.

use crate::helpers::{dd_config_with, Server};
use datadog_api_client::datadog::Error;
use datadog_api_client::datadogV2::api_key_management::{
    GetApplicationKeyOptionalParams, KeyManagementAPI,
    ListApplicationKeysOptionalParams as OrgParams,
    ListCurrentUserApplicationKeysOptionalParams as MineParams,
};
use datadog_api_client::datadogV2::api_roles::RolesAPI;
use datadog_api_client::datadogV2::api_service_accounts::ServiceAccountsAPI;
use datadog_api_client::datadogV2::api_users::{ListUsersOptionalParams, UsersAPI};
use datadog_api_client::datadogV2::model::ApplicationKeyResponseIncludedItem as Item;
use datadog_api_client::datadogV2::model::{
    APIKeyCreateAttributes, APIKeyCreateData, APIKeyCreateRequest, APIKeysType,
    ApplicationKeyCreateAttributes, ApplicationKeyCreateData, ApplicationKeyCreateRequest,
    ApplicationKeyRelationships, ApplicationKeyResponse, ApplicationKeyUpdateAttributes,
    ApplicationKeyUpdateData, ApplicationKeyUpdateRequest, ApplicationKeysSort as Sort,
    ApplicationKeysType, FullApplicationKey, ListApplicationKeysResponse, PartialApplicationKey,
    PartialApplicationKeyResponse, RelationshipToRoleData, RelationshipToRoles, RolesType,
    ServiceAccountCreateAttributes, ServiceAccountCreateData, ServiceAccountCreateRequest, User,
    UserAttributes, UserCreateAttributes, UserCreateData, UserCreateRequest, UserRelationships,
    UserResponse, UserUpdateAttributes, UserUpdateData, UserUpdateRequest, UsersResponse,
    UsersType,
};
use std::fmt::Debug;

const BOOTSTRAP_KEY: &str = "Initial application key";
const ADMIN_ROLE: &str = "Datadog Admin Role";
const READ_ONLY_ROLE: &str = "Datadog Read Only Role";

/// What one response says about a key, whichever surface and model it came through.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    id: String,
    name: String,
    last4: String,
    key: Option<String>,
    scopes: Option<Vec<String>>,
    owner: Option<String>,
}

impl Seen {
    /// A copy with `change` applied.
    fn but(&self, change: impl FnOnce(&mut Seen)) -> Seen {
        let mut seen = self.clone();
        change(&mut seen);
        seen
    }
}

fn owner(relationships: Option<&ApplicationKeyRelationships>) -> Option<String> {
    let owned_by = relationships.expect("relationships").owned_by.as_ref();
    owned_by.map(|o| o.data.id.clone())
}

fn full(response: ApplicationKeyResponse) -> Seen {
    let key: FullApplicationKey = response.data.expect("data");
    let a = key.attributes.expect("attributes");
    assert_eq!(key.type_, Some(ApplicationKeysType::APPLICATION_KEYS));
    Seen {
        id: key.id.expect("id"),
        name: a.name.expect("name"),
        last4: a.last4.expect("last4"),
        key: a.key,
        scopes: a.scopes.expect("scopes present"),
        owner: owner(key.relationships.as_ref()),
    }
}

fn partial(key: &PartialApplicationKey) -> Seen {
    let a = key.attributes.as_ref().expect("attributes");
    let secret = a.additional_properties.get("key");
    Seen {
        id: key.id.clone().expect("id"),
        name: a.name.clone().expect("name"),
        last4: a.last4.clone().expect("last4"),
        key: secret.map(|k| k.as_str().expect("key string").to_owned()),
        scopes: a.scopes.clone().expect("scopes present"),
        owner: owner(key.relationships.as_ref()),
    }
}

fn partial_response(response: PartialApplicationKeyResponse) -> Seen {
    partial(&response.data.expect("data"))
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn create_body(name: &str, scopes: Option<&[&str]>) -> ApplicationKeyCreateRequest {
    let mut attributes = ApplicationKeyCreateAttributes::new(name.to_owned());
    if let Some(scopes) = scopes {
        attributes = attributes.scopes(Some(strings(scopes)));
    }
    let data = ApplicationKeyCreateData::new(attributes, ApplicationKeysType::APPLICATION_KEYS);
    ApplicationKeyCreateRequest::new(data)
}

fn update_body(id: &str, attrs: ApplicationKeyUpdateAttributes) -> ApplicationKeyUpdateRequest {
    let kind = ApplicationKeysType::APPLICATION_KEYS;
    ApplicationKeyUpdateRequest::new(ApplicationKeyUpdateData::new(attrs, id.to_owned(), kind))
}

fn renamed(name: &str) -> ApplicationKeyUpdateAttributes {
    ApplicationKeyUpdateAttributes::new().name(name.to_owned())
}

async fn create_mine(api: &KeyManagementAPI, name: &str, scopes: Option<&[&str]>) -> Seen {
    let response = api.create_current_user_application_key(create_body(name, scopes));
    full(response.await.expect("create current-user application key"))
}

async fn mine(api: &KeyManagementAPI, params: MineParams) -> ListApplicationKeysResponse {
    let response = api.list_current_user_application_keys(params).await;
    response.expect("list current-user application keys")
}

async fn org(api: &KeyManagementAPI, params: OrgParams) -> ListApplicationKeysResponse {
    let response = api.list_application_keys(params).await;
    response.expect("list application keys")
}

/// The names listed; also checks that no listed key carries its secret.
fn names(list: &ListApplicationKeysResponse) -> Vec<String> {
    let data = list.data.as_ref().expect("data");
    let hidden = |k: Seen| k.key.is_none().then_some(k.name).expect("no key");
    data.iter().map(partial).map(hidden).collect()
}

fn total(list: &ListApplicationKeysResponse) -> i64 {
    let meta = list.meta.as_ref().expect("meta");
    assert_eq!(meta.max_allowed_per_user, Some(1000));
    let page = meta.page.as_ref().and_then(|p| p.total_filtered_count);
    page.expect("total_filtered_count")
}

/// The status and raw body of an error response; panics on success or any other failure.
fn response_error<R: Debug, T>(result: Result<R, Error<T>>) -> (u16, String) {
    match result {
        Err(Error::ResponseError(response)) => (response.status.as_u16(), response.content),
        Err(other) => panic!("expected an error response, got {other}"),
        Ok(value) => panic!("expected an error response, got {value:?}"),
    }
}

fn status<R: Debug, T>(result: Result<R, Error<T>>) -> u16 {
    response_error(result).0
}

fn assert_not_found<R: Debug, T>(result: Result<R, Error<T>>) {
    let (status, content) = response_error(result);
    assert_eq!(status, 404, "{content}");
    assert!(content.contains("Application key not found"), "{content}");
}

fn user<E: Debug>(response: Result<UserResponse, E>) -> (String, UserAttributes) {
    let user: User = response.expect("user response").data.expect("data");
    (user.id.expect("id"), user.attributes.expect("attributes"))
}

async fn list_users(api: &UsersAPI, params: ListUsersOptionalParams) -> UsersResponse {
    api.list_users(params).await.expect("list users")
}

fn user_ids(users: &UsersResponse) -> Vec<String> {
    let data = users.data.as_ref().expect("data");
    data.iter().map(|u| u.id.clone().expect("id")).collect()
}

/// The id of the managed role `name`, after checking that all three are listed.
async fn role_id(server: &Server, name: &str) -> String {
    let roles = RolesAPI::with_config(server.dd_config());
    let roles = roles.list_roles(Default::default()).await.expect("roles");
    let mut found = Vec::new();
    for role in roles.data.expect("data") {
        let role_name = role.attributes.and_then(|a| a.name).expect("name");
        found.push((role_name, role.id.expect("id")));
    }
    found.sort();
    let listed: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
    let standard = "Datadog Standard Role";
    assert_eq!(listed, [ADMIN_ROLE, READ_ONLY_ROLE, standard]);
    found.into_iter().find(|(n, _)| n == name).expect("role").1
}

/// Creates an active service account with one role; returns its id and email.
async fn service_account(server: &Server, email: &str, role: &str) -> (String, String) {
    let link = RelationshipToRoleData::new().id(role_id(server, role).await);
    let link = RelationshipToRoles::new().data(vec![link.type_(RolesType::ROLES)]);
    let attributes = ServiceAccountCreateAttributes::new(email.to_owned(), true);
    let data = ServiceAccountCreateData::new(attributes, UsersType::USERS);
    let data = data.relationships(UserRelationships::new().roles(link));
    let api = ServiceAccountsAPI::with_config(server.dd_config());
    let body = ServiceAccountCreateRequest::new(data);
    let (id, a) = user(api.create_service_account(body).await);
    assert_eq!(a.status.as_deref(), Some("Active"));
    assert_eq!(a.service_account, Some(true));
    assert_eq!(a.handle.as_ref(), Some(&id));
    (id, a.email.expect("email"))
}

#[tokio::test]
async fn current_user_keys_carry_their_secret_scopes_and_owner() {
    let server = Server::start().await;
    let api = KeyManagementAPI::with_config(server.dd_config());

    let created = create_mine(&api, "dashboards", Some(&["client_tokens_read"])).await;
    let key = created.key.clone().expect("key");
    assert_eq!(key.len(), 40, "{key}");
    assert!(key.chars().all(|c| "0123456789abcdef".contains(c)), "{key}");
    assert_eq!(
        (created.last4.as_str(), created.name.as_str()),
        (&key[36..], "dashboards")
    );
    assert_eq!(created.scopes, Some(strings(&["client_tokens_read"])));
    let admin_id = created.owner.clone().expect("owned_by");
    let key_id = created.id.clone();

    let fetched = api.get_current_user_application_key(key_id.clone()).await;
    let fetched = fetched.expect("get current-user application key");
    let attributes = fetched.data.as_ref().and_then(|k| k.attributes.as_ref());
    assert_eq!(attributes.expect("attributes").last_used_at, Some(None));
    let included = fetched.included.clone().expect("included");
    assert_eq!(full(fetched), created);
    let [Item::User(owner), Item::Role(role)] = &included[..] else {
        panic!("expected the owner and its role, got {included:?}");
    };
    assert_eq!(owner.id.as_ref(), Some(&admin_id));
    let email = owner.attributes.as_ref().and_then(|a| a.email.as_ref());
    assert_eq!(email, Some(&server.creds.email));
    let role_name = role.attributes.as_ref().and_then(|a| a.name.as_deref());
    assert_eq!(role_name, Some(ADMIN_ROLE));

    let scopes = strings(&["client_tokens_read", "client_tokens_write"]);
    let change = renamed("Dashboards RO").scopes(Some(scopes.clone()));
    let body = update_body(&key_id, change);
    let updated = api.update_current_user_application_key(key_id.clone(), body);
    let updated = full(updated.await.expect("update current-user application key"));
    let name = "Dashboards RO".to_owned();
    let expected = created.but(|k| (k.name, k.scopes) = (name, Some(scopes)));
    assert_eq!(updated, expected);

    let unscoped = create_mine(&api, "everything", None).await;
    assert_eq!(unscoped.scopes, None);
    for (name, expected) in [("everything", 409), ("  ", 400)] {
        let result = api.create_current_user_application_key(create_body(name, None));
        let (status, content) = response_error(result.await);
        assert_eq!(status, expected, "{name:?}: {content}");
    }
    let listed = mine(&api, Default::default()).await;
    let expected = ["Dashboards RO", "everything", BOOTSTRAP_KEY];
    assert_eq!((names(&listed), total(&listed)), (strings(&expected), 3));

    let deleted = api.delete_current_user_application_key(key_id.clone());
    deleted.await.expect("delete current-user application key");
    assert_not_found(api.get_current_user_application_key(key_id.clone()).await);
    assert_not_found(api.delete_current_user_application_key(key_id).await);
    let malformed = api.get_current_user_application_key("nope".to_owned());
    assert_not_found(malformed.await);
    let listed = mine(&api, Default::default()).await;
    let expected = strings(&["everything", BOOTSTRAP_KEY]);
    assert_eq!((names(&listed), total(&listed)), (expected, 2));
}

#[tokio::test]
async fn the_org_surface_sees_every_key_without_its_secret() {
    let server = Server::start().await;
    let api = KeyManagementAPI::with_config(server.dd_config());
    let created = create_mine(&api, "shared", None).await;
    let key_id = created.id.clone();
    let admin_id = created.owner.clone().expect("owned_by");

    let params = GetApplicationKeyOptionalParams::default().include("owned_by".to_owned());
    let fetched = api.get_application_key(key_id.clone(), params).await;
    let fetched = fetched.expect("get application key");
    let Some([Item::User(owner)]) = fetched.included.as_deref() else {
        panic!("expected the owner, got {:?}", fetched.included);
    };
    assert_eq!(owner.id.as_ref(), Some(&admin_id));
    assert_eq!(full(fetched), created.but(|k| k.key = None));

    let body = update_body(&key_id, renamed("Shared"));
    let updated = api.update_application_key(key_id.clone(), body).await;
    let updated = full(updated.expect("update application key"));
    let expected = created.but(|k| (k.name, k.key) = ("Shared".into(), None));
    assert_eq!(updated, expected);
    let fetched = api.get_current_user_application_key(key_id.clone()).await;
    let fetched = full(fetched.expect("get through the current-user surface"));
    assert_eq!(fetched, created.but(|k| k.name = "Shared".into()));

    let params = OrgParams::default().filter_owned_by(admin_id.clone());
    let listed = org(&api, params.include("owned_by".to_owned())).await;
    assert_eq!(names(&listed), [BOOTSTRAP_KEY, "Shared"]);
    assert_eq!(total(&listed), 2);
    let data = listed.data.as_ref().expect("data");
    let owners: Vec<_> = data.iter().map(|k| partial(k).owner).collect();
    assert_eq!(owners, [Some(admin_id.clone()), Some(admin_id)]);
    assert_eq!(listed.included.as_ref().map(Vec::len), Some(1));

    let deleted = api.delete_application_key(key_id.clone()).await;
    deleted.expect("delete application key");
    assert_not_found(api.get_current_user_application_key(key_id.clone()).await);
    assert_not_found(api.delete_application_key(key_id.clone()).await);
    let unknown = "00000000-0000-4000-8000-000000000000".to_owned();
    assert_not_found(api.get_application_key(unknown, Default::default()).await);
    let body = update_body("x", renamed("x"));
    assert_not_found(api.update_application_key("x".to_owned(), body).await);
    assert_eq!(names(&org(&api, Default::default()).await), [BOOTSTRAP_KEY]);
}

#[tokio::test]
async fn lists_sort_filter_and_page() {
    let server = Server::start().await;
    let api = KeyManagementAPI::with_config(server.dd_config());
    let mut keys = Vec::new();
    for name in ["bravo", "Alpha", "charlie", "Delta"] {
        let created = api.create_current_user_application_key(create_body(name, None));
        keys.push(created.await.expect("create").data.expect("data"));
    }
    let params = MineParams::default;
    let reversed = |names: &[String]| names.iter().rev().cloned().collect::<Vec<_>>();

    let by_name = strings(&["Alpha", "bravo", "charlie", "Delta", BOOTSTRAP_KEY]);
    let by_creation = strings(&[BOOTSTRAP_KEY, "bravo", "Alpha", "charlie", "Delta"]);
    let mut by_last4 = vec![(server.creds.app_key[36..].to_owned(), by_name[4].clone())];
    for key in &keys {
        let a = key.attributes.clone().expect("attributes");
        by_last4.push((a.last4.expect("last4"), a.name.expect("name")));
    }
    by_last4.sort();
    let by_last4: Vec<String> = by_last4.into_iter().map(|(_, name)| name).collect();
    assert_eq!(names(&mine(&api, params()).await), by_name);
    for (sort, expected) in [
        (Sort::NAME_ASCENDING, by_name.clone()),
        (Sort::NAME_DESCENDING, reversed(&by_name)),
        (Sort::CREATED_AT_ASCENDING, by_creation.clone()),
        (Sort::CREATED_AT_DESCENDING, reversed(&by_creation)),
        (Sort::LAST4_ASCENDING, by_last4.clone()),
        (Sort::LAST4_DESCENDING, reversed(&by_last4)),
    ] {
        let listed = mine(&api, params().sort(sort.clone())).await;
        assert_eq!(names(&listed), expected, "{sort:?}");
    }

    let filtered = mine(&api, params().filter("A".to_owned())).await;
    assert_eq!(names(&filtered), by_name);
    let filtered = mine(&api, params().filter("RL".to_owned())).await;
    assert_eq!(names(&filtered), ["charlie"]);
    assert_eq!(total(&filtered), 1);

    let created = |i: usize| {
        let a = keys[i].attributes.as_ref().expect("attributes");
        a.created_at.expect("created_at").to_rfc3339()
    };
    let window = params().filter_created_at_start(created(1));
    let window = mine(&api, window.filter_created_at_end(created(2))).await;
    assert_eq!(names(&window), ["Alpha", "charlie"]);
    let since = mine(&api, params().filter_created_at_start(created(3))).await;
    assert_eq!(names(&since), ["Delta"]);

    for (number, expected) in [(0, &by_name[..2]), (1, &by_name[2..4]), (2, &by_name[4..])] {
        let page = mine(&api, params().page_size(2).page_number(number)).await;
        assert_eq!(names(&page), expected, "page {number}");
        assert_eq!(total(&page), 5, "page {number}");
    }

    // The org list sorts, filters and pages the same way.
    let org_params = OrgParams::default().sort(Sort::NAME_DESCENDING);
    let org_params = org_params.filter("a".to_owned()).page_size(3);
    let page = org(&api, org_params.page_number(1)).await;
    assert_eq!(names(&page), ["bravo", "Alpha"]);
    assert_eq!(total(&page), 5);
}

#[tokio::test]
async fn service_account_keys_live_on_their_surface_and_act_as_the_account() {
    let server = Server::start().await;
    let email = "CI-Bot@Example.com";
    let (account, email) = service_account(&server, email, READ_ONLY_ROLE).await;
    assert_eq!(email, "ci-bot@example.com");
    let sa = ServiceAccountsAPI::with_config(server.dd_config());
    let account_id = || account.clone();

    let body = create_body("ci", Some(&["client_tokens_read"]));
    let created = sa.create_service_account_application_key(account_id(), body);
    let created = full(created.await.expect("create service-account key"));
    let key = created.key.clone().expect("key");
    assert_eq!((key.len(), created.owner.clone()), (40, Some(account_id())));
    let key_id = || created.id.clone();

    let fetched = sa.get_service_account_application_key(account_id(), key_id());
    let fetched = partial_response(fetched.await.expect("get service-account key"));
    assert_eq!(fetched, created.but(|k| (k.key, k.owner) = (None, None)));

    let body = update_body(&key_id(), renamed("CI").scopes(None));
    let updated = sa.update_service_account_application_key(account_id(), key_id(), body);
    let updated = partial_response(updated.await.expect("update service-account key"));
    let expected = fetched.but(|k| (k.name, k.scopes) = ("CI".into(), None));
    assert_eq!(updated, expected);

    let listed = sa.list_service_account_application_keys(account_id(), Default::default());
    let listed = listed.await.expect("list service-account application keys");
    assert_eq!((names(&listed), total(&listed)), (strings(&["CI"]), 1));
    let admin = KeyManagementAPI::with_config(server.dd_config());
    let listed = mine(&admin, Default::default()).await;
    assert_eq!(names(&listed), [BOOTSTRAP_KEY]);

    // The key authenticates as the read-only account: it may read users, not org keys.
    let config = dd_config_with(&server.base, &server.creds.api_key, &key);
    let users = UsersAPI::with_config(config.clone());
    let listed = list_users(&users, Default::default()).await;
    assert!(user_ids(&listed).contains(&account), "{listed:?}");
    let as_account = KeyManagementAPI::with_config(config);
    let denied = as_account.list_application_keys(Default::default()).await;
    assert_eq!(status(denied), 403);

    let deleted = sa.delete_service_account_application_key(account_id(), key_id());
    deleted.await.expect("delete service-account key");
    let fetched = sa.get_service_account_application_key(account_id(), key_id());
    assert_not_found(fetched.await);
    let deleted = sa.delete_service_account_application_key(account_id(), key_id());
    assert_not_found(deleted.await);
    assert_eq!(status(users.list_users(Default::default()).await), 403);
}

#[tokio::test]
async fn disabling_a_service_account_revokes_its_application_keys_only() {
    let server = Server::start().await;
    let (account, _) = service_account(&server, "deployer@example.com", ADMIN_ROLE).await;
    let sa = ServiceAccountsAPI::with_config(server.dd_config());
    let body = create_body("deploy", None);
    let created = sa.create_service_account_application_key(account.clone(), body);
    let created = full(created.await.expect("create service-account key"));
    let key = created.key.expect("key");

    // As the account: it works, with a current-user key of its own and an API key.
    let as_account = |key: &str| {
        let config = dd_config_with(&server.base, &server.creds.api_key, key);
        KeyManagementAPI::with_config(config)
    };
    let own = create_mine(&as_account(&key), "deploy 2", None).await;
    assert_eq!(own.owner.as_ref(), Some(&account));
    let attributes = APIKeyCreateAttributes::new("deployer agent".to_owned());
    let body = APIKeyCreateRequest::new(APIKeyCreateData::new(attributes, APIKeysType::API_KEYS));
    let api_key = as_account(&key).create_api_key(body).await;
    let api_key = api_key
        .expect("create API key")
        .data
        .and_then(|k| k.attributes);
    let api_key = api_key.and_then(|a| a.key).expect("API key");
    let owned = OrgParams::default().filter_owned_by(account.clone());
    let listed = org(&as_account(&key), owned.clone()).await;
    assert_eq!(names(&listed), ["deploy", "deploy 2"]);

    let users = UsersAPI::with_config(server.dd_config());
    users.disable_user(account.clone()).await.expect("disable");

    for key in [key, own.key.expect("key")] {
        let api = as_account(&key);
        let result = api.list_application_keys(Default::default()).await;
        assert_eq!(status(result), 403);
    }
    let admin = KeyManagementAPI::with_config(server.dd_config());
    let listed = org(&admin, owned).await;
    assert_eq!((names(&listed).len(), total(&listed)), (0, 0));
    let listed = org(&admin, Default::default()).await;
    assert_eq!(names(&listed), [BOOTSTRAP_KEY]);

    let config = dd_config_with(&server.base, &api_key, &server.creds.app_key);
    let roles = RolesAPI::with_config(config);
    let roles = roles.list_roles(Default::default()).await;
    let roles = roles.expect("its API key still works");
    assert_eq!(roles.data.map(|d| d.len()), Some(3));
    let (_, a) = user(users.get_user(account.clone()).await);
    assert_eq!(a.status.as_deref(), Some("Disabled"));
    assert_eq!(a.disabled, Some(true));
    assert_eq!(status(users.disable_user(account).await), 404);
}

#[tokio::test]
async fn users_are_created_listed_updated_and_disabled() {
    let server = Server::start().await;
    let api = UsersAPI::with_config(server.dd_config());
    let attributes = UserCreateAttributes::new("Ops.Person@Example.COM".to_owned());
    let attributes = attributes.name("Ops Person".to_owned());
    let body = UserCreateRequest::new(UserCreateData::new(attributes, UsersType::USERS));
    let (user_id, created) = user(api.create_user(body).await);
    assert_eq!(created.email.as_deref(), Some("ops.person@example.com"));
    assert_eq!(created.status.as_deref(), Some("Pending"));
    assert_eq!(created.name, Some(Some("Ops Person".to_owned())));

    let params = ListUsersOptionalParams::default;
    let counts = |users: &UsersResponse| {
        let page = users.meta.as_ref().and_then(|m| m.page.clone());
        let page = page.expect("page");
        (page.total_count, page.total_filtered_count)
    };
    let found = list_users(&api, params().filter("OPS.PERSON".to_owned())).await;
    assert_eq!(user_ids(&found), [user_id.as_str()]);
    assert_eq!(counts(&found), (Some(2), Some(1)));
    let pending = list_users(&api, params().filter_status("Pending".to_owned())).await;
    assert_eq!(user_ids(&pending), [user_id.as_str()]);
    let mut paged = Vec::new();
    for number in [0, 1] {
        let page = list_users(&api, params().page_size(1).page_number(number)).await;
        assert_eq!(counts(&page), (Some(2), Some(2)));
        paged.extend(user_ids(&page));
    }
    assert_eq!(paged.len(), 2);
    assert!(paged.contains(&user_id), "{paged:?}");
    let admin_id = paged.into_iter().find(|id| *id != user_id).expect("admin");

    let (fetched_id, fetched) = user(api.get_user(user_id.clone()).await);
    assert_eq!(fetched_id, user_id);
    assert_eq!(fetched.email, created.email);

    let change = UserUpdateAttributes::new().name("Operations".to_owned());
    let change = change
        .title(Some("SRE".into()))
        .email("sre@example.com".into());
    let data = UserUpdateData::new(change, user_id.clone(), UsersType::USERS);
    let updated = api.update_user(user_id.clone(), UserUpdateRequest::new(data));
    let (updated_id, u) = user(updated.await);
    assert_eq!(updated_id, user_id);
    assert_eq!(u.name, Some(Some("Operations".to_owned())));
    assert_eq!(u.title, Some(Some("SRE".to_owned())));
    assert_eq!(u.email.as_deref(), Some("sre@example.com"));

    let change = UserUpdateAttributes::new().name("Hijack".to_owned());
    let data = UserUpdateData::new(change, admin_id, UsersType::USERS);
    let result = api.update_user(user_id.clone(), UserUpdateRequest::new(data));
    let (status, content) = response_error(result.await);
    assert_eq!(status, 422, "{content}");

    let disabled = api.disable_user(user_id.clone()).await;
    disabled.expect("disable user");
    let disabled = list_users(&api, params().filter_status("Disabled".to_owned())).await;
    assert_eq!(user_ids(&disabled), [user_id.as_str()]);
    let (status, content) = response_error(api.disable_user(user_id.clone()).await);
    assert_eq!(status, 404, "{content}");
    let expected = format!("{user_id} not found");
    assert!(content.contains(&expected), "{content}");
}
