"""AWS Secrets Manager's managed rotation of Datadog keys, step for step, through the official
Python client (tests/api/aws_rotation.rs runs it against a fresh keyplane).

For an API key, each rotation creates a new key (createSecret), checks it with the validate
endpoint (testSecret), promotes it (finishSecret) and deletes the key from two rotations back,
so two keys are live at any time. For a service account's application key, it creates a new
key for the same account with the same scopes, checks it, and deletes the one before; the
admin application key belongs to that service account. Exits non-zero on the first broken
step.
"""

import os
import sys

from datadog_api_client import ApiClient, Configuration
from datadog_api_client.exceptions import ForbiddenException
from datadog_api_client.v1.api.authentication_api import AuthenticationApi
from datadog_api_client.v2.api.key_management_api import KeyManagementApi
from datadog_api_client.v2.api.roles_api import RolesApi
from datadog_api_client.v2.api.service_accounts_api import ServiceAccountsApi
from datadog_api_client.v2.model.api_key_create_attributes import APIKeyCreateAttributes
from datadog_api_client.v2.model.api_key_create_data import APIKeyCreateData
from datadog_api_client.v2.model.api_key_create_request import APIKeyCreateRequest
from datadog_api_client.v2.model.api_keys_type import APIKeysType
from datadog_api_client.v2.model.application_key_create_attributes import (
    ApplicationKeyCreateAttributes,
)
from datadog_api_client.v2.model.application_key_create_data import ApplicationKeyCreateData
from datadog_api_client.v2.model.application_key_create_request import (
    ApplicationKeyCreateRequest,
)
from datadog_api_client.v2.model.application_keys_type import ApplicationKeysType
from datadog_api_client.v2.model.service_account_create_attributes import (
    ServiceAccountCreateAttributes,
)
from datadog_api_client.v2.model.service_account_create_data import ServiceAccountCreateData
from datadog_api_client.v2.model.service_account_create_request import (
    ServiceAccountCreateRequest,
)
from datadog_api_client.v2.model.relationship_to_role_data import RelationshipToRoleData
from datadog_api_client.v2.model.relationship_to_roles import RelationshipToRoles
from datadog_api_client.v2.model.roles_type import RolesType
from datadog_api_client.v2.model.user_relationships import UserRelationships
from datadog_api_client.v2.model.users_type import UsersType

HOST = os.environ["KEYPLANE_URL"]
PREFIX = "aws-sm-rotation"


def config(api_key, app_key):
    c = Configuration(host=HOST)
    c.api_key["apiKeyAuth"] = api_key
    c.api_key["appKeyAuth"] = app_key
    return c


def valid(api_key, app_key):
    with ApiClient(config(api_key, app_key)) as client:
        try:
            return AuthenticationApi(client).validate().valid
        except ForbiddenException:
            return False


def check(condition, what):
    if not condition:
        print(f"FAIL: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def rotate_api_keys(admin_api, admin_app):
    generations = []
    with ApiClient(config(admin_api, admin_app)) as client:
        keys = KeyManagementApi(client)
        for version in range(4):
            created = keys.create_api_key(
                APIKeyCreateRequest(
                    data=APIKeyCreateData(
                        type=APIKeysType.API_KEYS,
                        attributes=APIKeyCreateAttributes(name=f"{PREFIX}-{version}"),
                    )
                )
            )
            generations.append((created.data.id, created.data.attributes.key))
            check(valid(created.data.attributes.key, admin_app), f"v{version} validates")
            if len(generations) > 2:
                old_id, old_key = generations[-3]
                keys.delete_api_key(old_id)
                check(not valid(old_key, admin_app), f"v{version - 2} refused once deleted")
            if len(generations) > 1:
                check(valid(generations[-2][1], admin_app), f"v{version - 1} still validates")
            listed = keys.list_api_keys(filter=PREFIX, page_size=100)
            check(
                len(listed.data) == min(len(generations), 2),
                f"{min(len(generations), 2)} generations live after v{version}",
            )


def rotate_service_account_keys(admin_api, admin_app):
    with ApiClient(config(admin_api, admin_app)) as client:
        accounts = ServiceAccountsApi(client)
        # The rotation's own service account, able to read keys (Datadog Standard Role).
        standard = RolesApi(client).list_roles(filter="Datadog Standard Role").data[0].id
        account = accounts.create_service_account(
            ServiceAccountCreateRequest(
                data=ServiceAccountCreateData(
                    type=UsersType.USERS,
                    attributes=ServiceAccountCreateAttributes(
                        email="aws-rotation@example.com", service_account=True
                    ),
                    relationships=UserRelationships(
                        roles=RelationshipToRoles(
                            data=[RelationshipToRoleData(id=standard, type=RolesType.ROLES)]
                        )
                    ),
                )
            )
        ).data.id
        scopes = ["api_keys_read"]
        previous = None
        for version in range(3):
            made = accounts.create_service_account_application_key(
                account,
                ApplicationKeyCreateRequest(
                    data=ApplicationKeyCreateData(
                        type=ApplicationKeysType.APPLICATION_KEYS,
                        attributes=ApplicationKeyCreateAttributes(
                            name=f"{PREFIX}-app-{version}", scopes=scopes
                        ),
                    )
                ),
            ).data
            check(made.attributes.scopes == scopes, f"app v{version} inherits the scopes")
            with ApiClient(config(admin_api, made.attributes.key)) as as_new:
                listed = KeyManagementApi(as_new).list_api_keys(page_size=1)
                check(listed.data is not None, f"app v{version} authenticates")
            if previous is not None:
                accounts.delete_service_account_application_key(account, previous[0])
                with ApiClient(config(admin_api, previous[1])) as as_old:
                    try:
                        KeyManagementApi(as_old).list_api_keys(page_size=1)
                        check(False, f"app v{version - 1} refused once deleted")
                    except ForbiddenException:
                        check(True, f"app v{version - 1} refused once deleted")
            previous = (made.id, made.attributes.key)


rotate_api_keys(os.environ["DD_API_KEY"], os.environ["DD_APP_KEY"])
rotate_service_account_keys(os.environ["DD_API_KEY"], os.environ["DD_APP_KEY"])
print("aws rotation: ok")
