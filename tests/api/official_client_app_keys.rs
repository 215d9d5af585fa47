//! The official `datadog-api-client` crate against a real keyplane: application keys on all
//! three surfaces (current user, organization, service account), service accounts, users and
//! roles go through the typed client, so any response it cannot deserialize fails here.

use crate::helpers::{dd_config_with, Server};
use datadog_api_client::datadog::Error;
use datadog_api_client::datadogV2::api_key_management::{
    GetApplicationKeyOptionalParams, KeyManagementAPI, ListApplicationKeysOptionalParams,
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
    ApplicationKeysType, FullApplicationKey, FullApplicationKeyAttributes,
    ListApplicationKeysResponse, PartialApplicationKeyAttributes, RelationshipToRoleData,
    RelationshipToRoles, RolesType, ServiceAccountCreateAttributes, ServiceAccountCreateData,
    ServiceAccountCreateRequest, User, UserAttributes, UserCreateAttributes, UserCreateData,
    UserCreateRequest, UserRelationships, UserUpdateAttributes, UserUpdateData, UserUpdateRequest,
    UsersResponse, UsersType,
};
use std::fmt::Debug;

const BOOTSTRAP_KEY: &str = "Initial application key";
const ADMIN_ROLE: &str = "Datadog Admin Role";
const READ_ONLY_ROLE: &str = "Datadog Read Only Role";

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

type FullApp = FullApplicationKey;

async fn create_mine(api: &KeyManagementAPI, name: &str, scopes: Option<&[&str]>) -> FullApp {
    let response = api.create_current_user_application_key(create_body(name, scopes));
    full(response.await.expect("create current-user application key"))
}

async fn mine(api: &KeyManagementAPI, params: MineParams) -> ListApplicationKeysResponse {
    let response = api.list_current_user_application_keys(params).await;
    response.expect("list current-user application keys")
}

async fn org(api: &KeyManagementAPI, params: ListApplicationKeysOptionalParams) -> Vec<String> {
    let response = api.list_application_keys(params).await;
    names(&response.expect("list application keys"))
}

fn full(response: ApplicationKeyResponse) -> FullApp {
    response.data.expect("data")
}

fn attrs(key: &FullApp) -> &FullApplicationKeyAttributes {
    key.attributes.as_ref().expect("attributes")
}

fn id(key: &FullApp) -> String {
    key.id.clone().expect("id")
}

fn secret(key: &FullApp) -> String {
    attrs(key).key.clone().expect("key")
}

fn owner(relationships: Option<&ApplicationKeyRelationships>) -> Option<String> {
    let owned_by = relationships.expect("relationships").owned_by.as_ref();
    owned_by.map(|o| o.data.id.clone())
}

/// The names listed; also checks that no listed key carries its secret.
fn names(list: &ListApplicationKeysResponse) -> Vec<String> {
    let data = list.data.as_ref().expect("data");
    let attributes = data.iter().map(|k| k.attributes.as_ref().expect("attrs"));
    let check = |a: &PartialApplicationKeyAttributes| {
        assert!(!a.additional_properties.contains_key("key"), "{a:?}");
        a.name.clone().expect("name")
    };
    attributes.map(check).collect()
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

async fn list_users(api: &UsersAPI, params: ListUsersOptionalParams) -> UsersResponse {
    api.list_users(params).await.expect("list users")
}

fn uattrs(user: &User) -> &UserAttributes {
    user.attributes.as_ref().expect("user attributes")
}

fn user_ids(users: &UsersResponse) -> Vec<String> {
    let data = users.data.as_ref().expect("data");
    data.iter()
        .map(|u| u.id.clone().expect("user id"))
        .collect()
}

/// The id of the managed role `name`, after checking that all three are listed.
async fn role_id(server: &Server, name: &str) -> String {
    let roles = RolesAPI::with_config(server.dd_config());
    let roles = roles.list_roles(Default::default()).await.expect("roles");
    let mut found: Vec<(String, String)> = (roles.data.expect("data").into_iter())
        .map(|r| {
            (
                r.attributes.and_then(|a| a.name).expect("name"),
                r.id.expect("id"),
            )
        })
        .collect();
    found.sort();
    let listed: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        listed,
        [ADMIN_ROLE, READ_ONLY_ROLE, "Datadog Standard Role"]
    );
    found.into_iter().find(|(n, _)| n == name).expect("role").1
}

/// Creates an active service account with one role; returns it and its id.
async fn service_account(server: &Server, email: &str, role: &str) -> (User, String) {
    let link = RelationshipToRoleData::new().id(role_id(server, role).await);
    let link = RelationshipToRoles::new().data(vec![link.type_(RolesType::ROLES)]);
    let attributes = ServiceAccountCreateAttributes::new(email.to_owned(), true);
    let data = ServiceAccountCreateData::new(attributes, UsersType::USERS);
    let body =
        ServiceAccountCreateRequest::new(data.relationships(UserRelationships::new().roles(link)));
    let api = ServiceAccountsAPI::with_config(server.dd_config());
    let account = api
        .create_service_account(body)
        .await
        .expect("create account");
    let account = account.data.expect("data");
    let account_id = account.id.clone().expect("id");
    let a = uattrs(&account);
    assert_eq!(
        (a.status.as_deref(), a.service_account),
        (Some("Active"), Some(true))
    );
    assert_eq!(a.handle.as_deref(), Some(account_id.as_str()));
    (account, account_id)
}

#[tokio::test]
async fn current_user_keys_carry_their_secret_scopes_and_owner() {
    let server = Server::start().await;
    let api = KeyManagementAPI::with_config(server.dd_config());

    let created = create_mine(&api, "dashboards", Some(&["dashboards_read"])).await;
    assert_eq!(created.type_, Some(ApplicationKeysType::APPLICATION_KEYS));
    let (key_id, key) = (id(&created), secret(&created));
    assert_eq!(key.len(), 40, "{key}");
    assert!(key.chars().all(|c| "0123456789abcdef".contains(c)), "{key}");
    let a = attrs(&created);
    assert_eq!(
        (a.last4.as_deref(), a.name.as_deref()),
        (Some(&key[36..]), Some("dashboards"))
    );
    assert_eq!(a.scopes, Some(Some(strings(&["dashboards_read"]))));
    let admin_id = owner(created.relationships.as_ref()).expect("owned_by");

    let fetched = api.get_current_user_application_key(key_id.clone()).await;
    let fetched = fetched.expect("get current-user application key");
    let included = fetched.included.clone().expect("included");
    let data = full(fetched);
    assert_eq!((id(&data), secret(&data)), (key_id.clone(), key.clone()));
    let f = attrs(&data);
    assert_eq!(
        (f.created_at, &f.last4, &f.scopes),
        (a.created_at, &a.last4, &a.scopes)
    );
    assert_eq!(f.last_used_at, Some(None));
    assert_eq!(owner(data.relationships.as_ref()).as_ref(), Some(&admin_id));
    let [Item::User(user), Item::Role(role)] = &included[..] else {
        panic!("expected the owner and its role, got {included:?}");
    };
    assert_eq!(user.id.as_ref(), Some(&admin_id));
    assert_eq!(uattrs(user).email.as_ref(), Some(&server.creds.email));
    let role_name = role.attributes.as_ref().and_then(|a| a.name.as_deref());
    assert_eq!(role_name, Some(ADMIN_ROLE));

    let scopes = strings(&["dashboards_read", "dashboards_write"]);
    let change = renamed("Dashboards RO").scopes(Some(scopes.clone()));
    let updated =
        api.update_current_user_application_key(key_id.clone(), update_body(&key_id, change));
    let updated = full(updated.await.expect("update current-user application key"));
    assert_eq!(
        (id(&updated), secret(&updated)),
        (key_id.clone(), key.clone())
    );
    let u = attrs(&updated);
    assert_eq!(
        (u.name.as_deref(), &u.scopes),
        (Some("Dashboards RO"), &Some(Some(scopes)))
    );

    let unscoped = create_mine(&api, "everything", None).await;
    assert_eq!(attrs(&unscoped).scopes, Some(None));
    for (name, expected) in [("everything", 409), ("  ", 400)] {
        let result = api.create_current_user_application_key(create_body(name, None));
        let (status, content) = response_error(result.await);
        assert_eq!(status, expected, "{name:?}: {content}");
    }
    let listed = mine(&api, Default::default()).await;
    assert_eq!(
        names(&listed),
        ["Dashboards RO", "everything", BOOTSTRAP_KEY]
    );
    assert_eq!(total(&listed), 3);

    let deleted = api
        .delete_current_user_application_key(key_id.clone())
        .await;
    deleted.expect("delete current-user application key");
    assert_not_found(api.get_current_user_application_key(key_id.clone()).await);
    assert_not_found(api.delete_current_user_application_key(key_id).await);
    assert_not_found(
        api.get_current_user_application_key("nope".to_owned())
            .await,
    );
    let listed = mine(&api, Default::default()).await;
    assert_eq!(
        (names(&listed), total(&listed)),
        (strings(&["everything", BOOTSTRAP_KEY]), 2)
    );
}

#[tokio::test]
async fn the_org_surface_sees_every_key_without_its_secret() {
    let server = Server::start().await;
    let api = KeyManagementAPI::with_config(server.dd_config());
    let created = create_mine(&api, "shared", None).await;
    let key_id = id(&created);
    let admin_id = owner(created.relationships.as_ref());

    let params = GetApplicationKeyOptionalParams::default().include("owned_by".to_owned());
    let fetched = api.get_application_key(key_id.clone(), params).await;
    let fetched = fetched.expect("get application key");
    let Some([Item::User(user)]) = fetched.included.as_deref() else {
        panic!("expected the owner, got {:?}", fetched.included);
    };
    assert_eq!(user.id, admin_id);
    let data = full(fetched);
    assert_eq!((id(&data), &attrs(&data).key), (key_id.clone(), &None));
    assert_eq!(attrs(&data).last4, attrs(&created).last4);
    assert_eq!(owner(data.relationships.as_ref()), admin_id);

    let updated =
        api.update_application_key(key_id.clone(), update_body(&key_id, renamed("Shared")));
    let updated = full(updated.await.expect("update application key"));
    let u = attrs(&updated);
    assert_eq!((u.name.as_deref(), &u.key), (Some("Shared"), &None));
    assert_eq!(owner(updated.relationships.as_ref()), admin_id);
    let fetched = api.get_current_user_application_key(key_id.clone()).await;
    let fetched = full(fetched.expect("get through the current-user surface"));
    assert_eq!(
        (attrs(&fetched).name.as_deref(), secret(&fetched)),
        (Some("Shared"), secret(&created))
    );

    let params = ListApplicationKeysOptionalParams::default()
        .filter_owned_by(admin_id.clone().expect("owner"))
        .include("owned_by".to_owned());
    let listed = api.list_application_keys(params).await.expect("list");
    assert_eq!(
        (names(&listed), total(&listed)),
        (strings(&[BOOTSTRAP_KEY, "Shared"]), 2)
    );
    for key in listed.data.as_ref().expect("data") {
        assert_eq!(owner(key.relationships.as_ref()), admin_id);
    }
    assert_eq!(listed.included.as_ref().map(Vec::len), Some(1));

    api.delete_application_key(key_id.clone())
        .await
        .expect("delete");
    assert_not_found(api.get_current_user_application_key(key_id.clone()).await);
    assert_not_found(api.delete_application_key(key_id.clone()).await);
    let unknown = "00000000-0000-4000-8000-000000000000".to_owned();
    assert_not_found(api.get_application_key(unknown, Default::default()).await);
    let body = update_body("x", renamed("x"));
    assert_not_found(api.update_application_key("x".to_owned(), body).await);
    assert_eq!(org(&api, Default::default()).await, [BOOTSTRAP_KEY]);
}

#[tokio::test]
async fn lists_sort_filter_and_page() {
    let server = Server::start().await;
    let api = KeyManagementAPI::with_config(server.dd_config());
    let mut keys = Vec::new();
    for name in ["bravo", "Alpha", "charlie", "Delta"] {
        keys.push(create_mine(&api, name, None).await);
    }
    let params = MineParams::default;
    let reversed = |names: &[String]| names.iter().rev().cloned().collect::<Vec<_>>();

    let by_name = strings(&["Alpha", "bravo", "charlie", "Delta", BOOTSTRAP_KEY]);
    let by_creation = strings(&[BOOTSTRAP_KEY, "bravo", "Alpha", "charlie", "Delta"]);
    let mut by_last4: Vec<(String, String)> = (keys.iter())
        .map(|k| {
            (
                attrs(k).last4.clone().expect("last4"),
                attrs(k).name.clone().expect("name"),
            )
        })
        .collect();
    by_last4.push((
        server.creds.app_key[36..].to_owned(),
        BOOTSTRAP_KEY.to_owned(),
    ));
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

    assert_eq!(
        names(&mine(&api, params().filter("A".to_owned())).await),
        by_name
    );
    let filtered = mine(&api, params().filter("RL".to_owned())).await;
    assert_eq!(
        (names(&filtered), total(&filtered)),
        (strings(&["charlie"]), 1)
    );

    let created = |i: usize| attrs(&keys[i]).created_at.expect("created_at").to_rfc3339();
    let window = params()
        .filter_created_at_start(created(1))
        .filter_created_at_end(created(2));
    assert_eq!(names(&mine(&api, window).await), ["Alpha", "charlie"]);
    let since = mine(&api, params().filter_created_at_start(created(3))).await;
    assert_eq!(names(&since), ["Delta"]);

    for (number, expected) in [(0, &by_name[..2]), (1, &by_name[2..4]), (2, &by_name[4..])] {
        let page = mine(&api, params().page_size(2).page_number(number)).await;
        assert_eq!(
            (names(&page), total(&page)),
            (expected.to_vec(), 5),
            "page {number}"
        );
    }

    // The org list sorts, filters and pages the same way.
    let org_params = ListApplicationKeysOptionalParams::default()
        .sort(Sort::NAME_DESCENDING)
        .filter("a".to_owned());
    let page = org(&api, org_params.page_size(3).page_number(1)).await;
    assert_eq!(page, ["bravo", "Alpha"]);
}

#[tokio::test]
async fn service_account_keys_live_on_their_surface_and_act_as_the_account() {
    let server = Server::start().await;
    let (account, account_id) =
        service_account(&server, "CI-Bot@Example.com", READ_ONLY_ROLE).await;
    assert_eq!(
        uattrs(&account).email.as_deref(),
        Some("ci-bot@example.com")
    );
    let sa = ServiceAccountsAPI::with_config(server.dd_config());
    let sa_id = || account_id.clone();

    let body = create_body("ci", Some(&["dashboards_read"]));
    let created = sa
        .create_service_account_application_key(sa_id(), body)
        .await;
    let created = full(created.expect("create service-account application key"));
    let (key_id, key) = (id(&created), secret(&created));
    assert_eq!(
        (key.len(), owner(created.relationships.as_ref())),
        (40, Some(sa_id()))
    );

    let fetched = sa
        .get_service_account_application_key(sa_id(), key_id.clone())
        .await;
    let fetched = fetched
        .expect("get service-account application key")
        .data
        .expect("data");
    assert_eq!(fetched.id.as_ref(), Some(&key_id));
    let f = fetched.attributes.as_ref().expect("attributes");
    assert!(!f.additional_properties.contains_key("key"), "{f:?}");
    assert_eq!(
        (f.name.as_deref(), &f.scopes),
        (Some("ci"), &attrs(&created).scopes)
    );
    assert_eq!(owner(fetched.relationships.as_ref()), None);

    let body = update_body(&key_id, renamed("CI").scopes(None));
    let updated = sa.update_service_account_application_key(sa_id(), key_id.clone(), body);
    let updated = updated
        .await
        .expect("update service-account application key");
    let updated = updated.data.expect("data");
    let u = updated.attributes.as_ref().expect("attributes");
    assert!(!u.additional_properties.contains_key("key"), "{u:?}");
    assert_eq!((u.name.as_deref(), &u.scopes), (Some("CI"), &Some(None)));
    assert_eq!(owner(updated.relationships.as_ref()), None);

    let listed = sa
        .list_service_account_application_keys(sa_id(), Default::default())
        .await;
    let listed = listed.expect("list service-account application keys");
    assert_eq!((names(&listed), total(&listed)), (strings(&["CI"]), 1));
    let admin = KeyManagementAPI::with_config(server.dd_config());
    assert_eq!(
        names(&mine(&admin, Default::default()).await),
        [BOOTSTRAP_KEY]
    );

    // The key authenticates as the read-only account: it may read users, not org keys.
    let config = dd_config_with(&server.base, &server.creds.api_key, &key);
    let users = UsersAPI::with_config(config.clone());
    let listed = users
        .list_users(Default::default())
        .await
        .expect("list users as the account");
    assert!(user_ids(&listed).contains(&account_id), "{listed:?}");
    let as_account = KeyManagementAPI::with_config(config);
    assert_eq!(
        status(as_account.list_application_keys(Default::default()).await),
        403
    );

    let deleted = sa
        .delete_service_account_application_key(sa_id(), key_id.clone())
        .await;
    deleted.expect("delete service-account application key");
    assert_not_found(
        sa.get_service_account_application_key(sa_id(), key_id.clone())
            .await,
    );
    assert_not_found(
        sa.delete_service_account_application_key(sa_id(), key_id)
            .await,
    );
    assert_eq!(status(users.list_users(Default::default()).await), 403);
}

#[tokio::test]
async fn disabling_a_service_account_revokes_its_application_keys_only() {
    let server = Server::start().await;
    let (_, account_id) = service_account(&server, "deployer@example.com", ADMIN_ROLE).await;
    let sa = ServiceAccountsAPI::with_config(server.dd_config());
    let body = create_body("deploy", None);
    let created = sa
        .create_service_account_application_key(account_id.clone(), body)
        .await;
    let key = secret(&full(
        created.expect("create service-account application key"),
    ));

    // As the account: a current-user key of its own, and an API key.
    let as_account = |key: &str| {
        let config = dd_config_with(&server.base, &server.creds.api_key, key);
        KeyManagementAPI::with_config(config)
    };
    let own = create_mine(&as_account(&key), "deploy 2", None).await;
    assert_eq!(
        owner(own.relationships.as_ref()).as_ref(),
        Some(&account_id)
    );
    let attributes = APIKeyCreateAttributes::new("deployer agent".to_owned());
    let body = APIKeyCreateRequest::new(APIKeyCreateData::new(attributes, APIKeysType::API_KEYS));
    let api_key = as_account(&key)
        .create_api_key(body)
        .await
        .expect("create API key");
    let api_key = api_key.data.and_then(|k| k.attributes).and_then(|a| a.key);
    let owned = ListApplicationKeysOptionalParams::default().filter_owned_by(account_id.clone());
    assert_eq!(
        org(&as_account(&key), owned.clone()).await,
        ["deploy", "deploy 2"]
    );

    let users = UsersAPI::with_config(server.dd_config());
    users
        .disable_user(account_id.clone())
        .await
        .expect("disable service account");

    for key in [key, secret(&own)] {
        let result = as_account(&key)
            .list_application_keys(Default::default())
            .await;
        assert_eq!(status(result), 403);
    }
    let admin = KeyManagementAPI::with_config(server.dd_config());
    let listed = admin.list_application_keys(owned).await.expect("list");
    assert_eq!((names(&listed).len(), total(&listed)), (0, 0));
    assert_eq!(org(&admin, Default::default()).await, [BOOTSTRAP_KEY]);

    let config = dd_config_with(
        &server.base,
        &api_key.expect("API key"),
        &server.creds.app_key,
    );
    let roles = RolesAPI::with_config(config)
        .list_roles(Default::default())
        .await;
    assert_eq!(
        roles.expect("API key still works").data.map(|d| d.len()),
        Some(3)
    );
    let fetched = users.get_user(account_id.clone()).await.expect("get user");
    let fetched = fetched.data.expect("data");
    let f = uattrs(&fetched);
    assert_eq!(
        (f.status.as_deref(), f.disabled),
        (Some("Disabled"), Some(true))
    );
    assert_eq!(status(users.disable_user(account_id).await), 404);
}

#[tokio::test]
async fn users_are_created_listed_updated_and_disabled() {
    let server = Server::start().await;
    let api = UsersAPI::with_config(server.dd_config());
    let attributes = UserCreateAttributes::new("Ops.Person@Example.COM".to_owned());
    let attributes = attributes.name("Ops Person".to_owned());
    let body = UserCreateRequest::new(UserCreateData::new(attributes, UsersType::USERS));
    let created = api
        .create_user(body)
        .await
        .expect("create user")
        .data
        .expect("data");
    let user_id = created.id.clone().expect("id");
    let c = uattrs(&created);
    assert_eq!(c.email.as_deref(), Some("ops.person@example.com"));
    assert_eq!(
        (c.status.as_deref(), &c.name),
        (Some("Pending"), &Some(Some("Ops Person".into())))
    );

    let params = ListUsersOptionalParams::default;
    let counts = |users: &UsersResponse| {
        let page = users
            .meta
            .as_ref()
            .and_then(|m| m.page.as_ref())
            .expect("page");
        (
            page.total_count.expect("total"),
            page.total_filtered_count.expect("filtered"),
        )
    };
    let found = list_users(&api, params().filter("OPS.PERSON".to_owned())).await;
    assert_eq!(
        (user_ids(&found), counts(&found)),
        (vec![user_id.clone()], (2, 1))
    );
    let pending = list_users(&api, params().filter_status("Pending".to_owned())).await;
    assert_eq!(user_ids(&pending), [user_id.clone()]);
    let mut paged = Vec::new();
    for number in [0, 1] {
        let page = list_users(&api, params().page_size(1).page_number(number)).await;
        assert_eq!(counts(&page), (2, 2));
        paged.extend(user_ids(&page));
    }
    assert_eq!(paged.len(), 2);
    assert!(paged.contains(&user_id), "{paged:?}");
    let admin_id = paged.into_iter().find(|id| *id != user_id).expect("admin");

    let fetched = api
        .get_user(user_id.clone())
        .await
        .expect("get user")
        .data
        .expect("data");
    assert_eq!(fetched.id, created.id);
    assert_eq!(uattrs(&fetched).email, c.email);

    let change = UserUpdateAttributes::new()
        .name("Operations".to_owned())
        .title(Some("SRE".to_owned()))
        .email("sre@example.com".to_owned());
    let body = UserUpdateRequest::new(UserUpdateData::new(
        change,
        user_id.clone(),
        UsersType::USERS,
    ));
    let updated = api
        .update_user(user_id.clone(), body)
        .await
        .expect("update user");
    let updated = updated.data.expect("data");
    assert_eq!(updated.id, created.id);
    let u = uattrs(&updated);
    assert_eq!(
        (&u.name, &u.title),
        (&Some(Some("Operations".into())), &Some(Some("SRE".into())))
    );
    assert_eq!(u.email.as_deref(), Some("sre@example.com"));

    let change = UserUpdateAttributes::new().name("Hijack".to_owned());
    let body = UserUpdateRequest::new(UserUpdateData::new(change, admin_id, UsersType::USERS));
    let (status, content) = response_error(api.update_user(user_id.clone(), body).await);
    assert_eq!(status, 422, "{content}");

    api.disable_user(user_id.clone())
        .await
        .expect("disable user");
    let disabled = list_users(&api, params().filter_status("Disabled".to_owned())).await;
    assert_eq!(user_ids(&disabled), [user_id.clone()]);
    let (status, content) = response_error(api.disable_user(user_id.clone()).await);
    assert_eq!(status, 404, "{content}");
    assert!(
        content.contains(&format!("{user_id} not found")),
        "{content}"
    );
}
