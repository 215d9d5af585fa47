//! Roles, permissions and the current user through the official Rust client: every
//! operation of `RolesAPI`, and the `UsersAPI` ones this change serves, parse as typed.

use crate::helpers::Server;
use datadog_api_client::datadogV2::api_roles::{
    ListPermissionsOptionalParams, ListRoleUsersOptionalParams, ListRolesOptionalParams, RolesAPI,
};
use datadog_api_client::datadogV2::api_users::UsersAPI;
use datadog_api_client::datadogV2::model::{
    PermissionsType, RelationshipToPermission, RelationshipToPermissionData,
    RelationshipToPermissions, RelationshipToUser, RelationshipToUserData, RoleClone,
    RoleCloneAttributes, RoleCloneRequest, RoleCreateAttributes, RoleCreateData, RoleCreateRequest,
    RoleRelationships, RoleUpdateAttributes, RoleUpdateData, RoleUpdateRequest, RolesSort,
    RolesType, UserCreateAttributes, UserCreateData, UserCreateRequest, UserResponseIncludedItem,
    UserUpdateAttributes, UserUpdateData, UserUpdateRequest, UsersType,
};

fn permission_link(id: &str) -> RelationshipToPermissionData {
    RelationshipToPermissionData::new()
        .id(id.to_owned())
        .type_(PermissionsType::PERMISSIONS)
}

#[tokio::test]
async fn every_roles_operation_through_the_official_client() {
    let server = Server::start().await;
    let roles = RolesAPI::with_config(server.dd_config());
    let users = UsersAPI::with_config(server.dd_config());

    let all = roles
        .list_permissions(ListPermissionsOptionalParams::default())
        .await
        .expect("permissions");
    let all = all.data.expect("data");
    assert_eq!(all.len(), 300);
    let fixture = all[4].id.clone().expect("id");
    let scopes = roles
        .list_permissions(ListPermissionsOptionalParams::default().include_scopes(true))
        .await
        .expect("with scopes");
    assert!(scopes.data.expect("data").len() > 300);

    let attributes = RoleCreateAttributes::new("official ops".to_owned());
    let relationships = RoleRelationships::new()
        .permissions(RelationshipToPermissions::new().data(vec![permission_link(&fixture)]));
    let request = RoleCreateRequest::new(
        RoleCreateData::new(attributes)
            .relationships(relationships)
            .type_(RolesType::ROLES),
    );
    let created = roles.create_role(request).await.expect("create");
    let data = created.data.expect("data");
    let id = data.id.clone().expect("id");
    assert_eq!(
        data.attributes.map(|a| a.name).as_deref(),
        Some("official ops")
    );

    let got = roles.get_role(id.clone()).await.expect("get");
    assert_eq!(got.data.and_then(|d| d.id), Some(id.clone()));

    let update = RoleUpdateData::new(
        RoleUpdateAttributes::new().name("official ops 2".to_owned()),
        id.clone(),
        RolesType::ROLES,
    );
    let updated = roles
        .update_role(id.clone(), RoleUpdateRequest::new(update))
        .await
        .expect("update");
    let name = updated.data.and_then(|d| d.attributes).and_then(|a| a.name);
    assert_eq!(name.as_deref(), Some("official ops 2"));

    let listed = roles
        .list_roles(
            ListRolesOptionalParams::default()
                .filter("official".to_owned())
                .sort(RolesSort::NAME_DESCENDING),
        )
        .await
        .expect("list");
    assert_eq!(listed.data.expect("data").len(), 1);

    let clone = RoleCloneRequest::new(RoleClone::new(
        RoleCloneAttributes::new("official clone".to_owned()),
        RolesType::ROLES,
    ));
    let cloned = roles.clone_role(id.clone(), clone).await.expect("clone");
    let clone_id = cloned.data.and_then(|d| d.id).expect("clone id");

    let logs_read = all
        .iter()
        .find(|p| p.attributes.as_ref().and_then(|a| a.name.as_deref()) == Some("logs_read_data"))
        .and_then(|p| p.id.clone())
        .expect("logs_read_data");
    let link = RelationshipToPermission::new().data(permission_link(&logs_read));
    let granted = roles
        .add_permission_to_role(id.clone(), link.clone())
        .await
        .expect("grant");
    assert!(granted
        .data
        .expect("data")
        .iter()
        .any(|p| p.id.as_deref() == Some(logs_read.as_str())));
    let listed = roles
        .list_role_permissions(id.clone())
        .await
        .expect("role permissions");
    assert_eq!(listed.data.expect("data").len(), 12);
    let revoked = roles
        .remove_permission_from_role(id.clone(), link)
        .await
        .expect("revoke");
    assert_eq!(revoked.data.expect("data").len(), 11);

    let user = users
        .create_user(UserCreateRequest::new(UserCreateData::new(
            UserCreateAttributes::new("official.member@example.com".to_owned()),
            UsersType::USERS,
        )))
        .await
        .expect("user");
    let user_id = user.data.and_then(|d| d.id).expect("user id");
    let member = RelationshipToUser::new(RelationshipToUserData::new(
        user_id.clone(),
        UsersType::USERS,
    ));
    let added = roles
        .add_user_to_role(id.clone(), member.clone())
        .await
        .expect("add user");
    assert_eq!(added.data.expect("data").len(), 1);
    let members = roles
        .list_role_users(id.clone(), ListRoleUsersOptionalParams::default())
        .await
        .expect("role users");
    assert_eq!(
        members
            .meta
            .and_then(|m| m.page)
            .and_then(|p| p.total_count),
        Some(1)
    );
    let permissions = users
        .list_user_permissions(user_id.clone())
        .await
        .expect("user permissions");
    assert_eq!(permissions.data.expect("data").len(), 11);
    let orgs = users
        .list_user_organizations(user_id.clone())
        .await
        .expect("user orgs");
    assert_eq!(orgs.data.and_then(|d| d.id), Some(user_id.clone()));
    let removed = roles
        .remove_user_from_role(id.clone(), member)
        .await
        .expect("remove user");
    assert!(removed.data.expect("data").is_empty());

    roles.delete_role(clone_id).await.expect("delete clone");
    roles.delete_role(id.clone()).await.expect("delete");
    assert!(roles.get_role(id).await.is_err(), "gone after delete");
}

#[tokio::test]
async fn the_current_user_through_the_official_client() {
    let server = Server::start().await;
    let users = UsersAPI::with_config(server.dd_config());
    let me = users.get_current_user().await.expect("current user");
    let included = me.included.expect("included");
    let kinds = |item: &UserResponseIncludedItem| match item {
        UserResponseIncludedItem::Organization(_) => "org",
        UserResponseIncludedItem::Permission(_) => "permission",
        UserResponseIncludedItem::Role(_) => "role",
        _ => "unparsed",
    };
    let mut seen: Vec<&str> = included.iter().map(kinds).collect();
    seen.dedup();
    assert_eq!(seen, ["org", "role", "permission"]);
    let data = me.data.expect("data");
    let id = data.id.expect("id");
    let change = UserUpdateData::new(
        UserUpdateAttributes::new().name("Official Me".to_owned()),
        id,
        UsersType::USERS,
    );
    let updated = users
        .update_current_user(UserUpdateRequest::new(change))
        .await
        .expect("update current user");
    let name = updated
        .data
        .and_then(|d| d.attributes)
        .and_then(|a| a.name.flatten());
    assert_eq!(name.as_deref(), Some("Official Me"));
}
