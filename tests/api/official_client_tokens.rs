//! The official `datadog-api-client` crate against a real keyplane: every personal and
//! service-account token operation it has, and `validate` (v2), through the typed client,
//! so any response it cannot deserialize (or an unknown enum value) fails here. The client
//! is also authenticated with a token alone, as Python and Rust users do (`DD_APP_KEY`).

use crate::access_tokens::create_service_account;
use crate::helpers::{dd_config_with, Server};
use datadog_api_client::datadogV2::api_key_management::{
    GetPersonalAccessTokenOptionalParams, KeyManagementAPI, ListPersonalAccessTokensOptionalParams,
};
use datadog_api_client::datadogV2::api_service_accounts::{
    GetServiceAccountAccessTokenOptionalParams, ListServiceAccountAccessTokensOptionalParams,
    ServiceAccountsAPI,
};
use datadog_api_client::datadogV2::model::{
    AccessTokensType, PersonalAccessTokenCreateAttributes, PersonalAccessTokenCreateData,
    PersonalAccessTokenCreateRequest, PersonalAccessTokenUpdateAttributes,
    PersonalAccessTokenUpdateData, PersonalAccessTokenUpdateRequest, PersonalAccessTokensType,
    ServiceAccessTokensType, ServiceAccountAccessTokenCreateAttributes,
    ServiceAccountAccessTokenCreateData, ServiceAccountAccessTokenCreateRequest,
    ServiceAccountAccessTokenUpdateAttributes, ServiceAccountAccessTokenUpdateData,
    ServiceAccountAccessTokenUpdateRequest,
};

#[tokio::test]
async fn personal_tokens_through_the_official_client() {
    let s = Server::start().await;
    let api = KeyManagementAPI::with_config(s.dd_config());
    let expires = chrono::Utc::now() + chrono::Duration::days(365);
    let body = PersonalAccessTokenCreateRequest::new(PersonalAccessTokenCreateData::new(
        PersonalAccessTokenCreateAttributes::new(
            expires,
            "official".into(),
            vec!["api_keys_read".into()],
        ),
        PersonalAccessTokensType::PERSONAL_ACCESS_TOKENS,
    ));
    let created = api
        .create_personal_access_token(body)
        .await
        .expect("create")
        .data
        .expect("data");
    let id = created.id.clone().expect("id");
    let attrs = created.attributes.expect("attributes");
    let key = attrs.key.expect("key");
    assert!(key.starts_with("ddpat_"));
    assert_eq!(attrs.scopes, Some(vec!["api_keys_read".to_owned()]));
    assert_eq!(
        attrs.expires_at.flatten().map(|t| t.timestamp()),
        Some(expires.timestamp())
    );

    let got = api
        .get_personal_access_token(id.clone(), GetPersonalAccessTokenOptionalParams::default())
        .await
        .expect("get")
        .data
        .expect("data");
    let got_attrs = got.attributes.expect("attributes");
    assert_eq!(got_attrs.name.as_deref(), Some("official"));
    assert_eq!(got_attrs.last_used_at, Some(None));

    let list = api
        .list_personal_access_tokens(ListPersonalAccessTokensOptionalParams::default())
        .await
        .expect("list");
    let items = list.data.expect("data");
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0].type_,
        Some(AccessTokensType::PERSONAL_ACCESS_TOKENS)
    );

    let change = PersonalAccessTokenUpdateRequest::new(PersonalAccessTokenUpdateData::new(
        PersonalAccessTokenUpdateAttributes::new().name("renamed".into()),
        id.clone(),
        PersonalAccessTokensType::PERSONAL_ACCESS_TOKENS,
    ));
    let updated = api
        .update_personal_access_token(id.clone(), change)
        .await
        .expect("update")
        .data;
    assert_eq!(
        updated.attributes.and_then(|a| a.name).as_deref(),
        Some("renamed")
    );

    // The token alone, in DD_APP_KEY with a meaningless API key, as Rust users set it.
    let as_token = KeyManagementAPI::with_config(dd_config_with(&s.base, "unused", &key));
    as_token
        .list_personal_access_tokens(ListPersonalAccessTokensOptionalParams::default())
        .await
        .expect_err("api_keys_read does not list tokens");
    let keys =
        datadog_api_client::datadogV2::api_key_management::ListAPIKeysOptionalParams::default();
    as_token
        .list_api_keys(keys)
        .await
        .expect("a token reads keys");

    api.revoke_personal_access_token(id.clone())
        .await
        .expect("revoke");
    api.revoke_personal_access_token(id)
        .await
        .expect("revoke again");
}

#[tokio::test]
async fn service_account_tokens_and_validate_through_the_official_client() {
    let s = Server::start().await;
    let sa = create_service_account(&s, "official-sa@example.com").await;
    let api = ServiceAccountsAPI::with_config(s.dd_config());
    let body =
        ServiceAccountAccessTokenCreateRequest::new(ServiceAccountAccessTokenCreateData::new(
            ServiceAccountAccessTokenCreateAttributes::new(
                "sat".into(),
                vec!["api_keys_read".into()],
            ),
            ServiceAccessTokensType::SERVICE_ACCESS_TOKENS,
        ));
    let created = api
        .create_service_account_access_token(sa.clone(), body)
        .await
        .expect("create")
        .data
        .expect("data");
    let id = created.id.expect("id");
    let attrs = created.attributes.expect("attributes");
    assert!(attrs.key.expect("key").starts_with("ddsat_"));
    assert_eq!(attrs.expires_at, Some(None));
    let got = api
        .get_service_account_access_token(
            sa.clone(),
            id.clone(),
            GetServiceAccountAccessTokenOptionalParams::default(),
        )
        .await
        .expect("get");
    assert_eq!(got.data.and_then(|d| d.id).as_deref(), Some(id.as_str()));
    let list = api
        .list_service_account_access_tokens(
            sa.clone(),
            ListServiceAccountAccessTokensOptionalParams::default(),
        )
        .await
        .expect("list");
    assert_eq!(list.data.map(|d| d.len()), Some(1));
    let change =
        ServiceAccountAccessTokenUpdateRequest::new(ServiceAccountAccessTokenUpdateData::new(
            ServiceAccountAccessTokenUpdateAttributes::new().scopes(vec!["api_keys_read".into()]),
            id.clone(),
            ServiceAccessTokensType::SERVICE_ACCESS_TOKENS,
        ));
    api.update_service_account_access_token(sa.clone(), id.clone(), change)
        .await
        .expect("update");
    for _ in 0..2 {
        api.revoke_service_account_access_token(sa.clone(), id.clone())
            .await
            .expect("revoke");
    }

    let mut config = s.dd_config();
    config.set_unstable_operation_enabled("v2.validate", true);
    let validated = KeyManagementAPI::with_config(config)
        .validate()
        .await
        .expect("validate");
    assert!(validated.data.attributes.valid);
    assert!(!validated.data.attributes.api_key_id.is_empty());
}
