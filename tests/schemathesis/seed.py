"""Prepares a fresh keyplane for the fuzz run: a few resources of each kind for the operations
that need an existing id, the values the fuzzer must not change (its own credentials and the
admin), and the schemathesis config that wires both in.

Usage: seed.py BASE_URL DATA_DIR OUT_DIR; writes OUT_DIR/schemathesis.toml and
OUT_DIR/protected (one value a line, read by hooks.py).
"""

import json
import sys
from pathlib import Path

import requests

base, data_dir, out_dir = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
creds = dict(
    line.split("=", 1)
    for line in (data_dir / "initial-credentials").read_text().splitlines()
    if "=" in line
)
http = requests.Session()
http.headers.update({"DD-API-KEY": creds["DD_API_KEY"], "DD-APPLICATION-KEY": creds["DD_APP_KEY"]})
# Deletes in one phase would otherwise leave the next phases nothing but 404s.
COPIES = 3


def call(method, path, body=None, expect=200):
    resp = http.request(method, base + path, json=body, timeout=30)
    if resp.status_code != expect:
        sys.exit(f"seed: {method} {path} answered {resp.status_code}: {resp.text}")
    return resp.json()


def create(path, kind, attributes):
    body = {"data": {"type": kind, "attributes": attributes}}
    return call("POST", path, body, expect=201)["data"]


# What the fuzzer runs as, found while each list holds one entry.
own_api_key = call("GET", "/api/v2/api_keys")["data"][0]["id"]
own_app_key = call("GET", "/api/v2/application_keys")["data"][0]
admin_id = own_app_key["relationships"]["owned_by"]["data"]["id"]
protected = [creds["DD_API_KEY"], creds["DD_APP_KEY"], own_api_key, own_app_key["id"], admin_id]

ids = {name: [] for name in ("api_key", "app_key", "client_token", "user", "service_account")}
v1_keys = []
for n in range(COPIES):
    api_key = create("/api/v2/api_keys", "api_keys", {"name": f"fuzz seed {n}"})
    app_key = create("/api/v2/current_user/application_keys", "application_keys", {"name": f"fuzz seed {n}"})
    token = create("/api/v2/client_tokens", "client_tokens", {"name": f"fuzz seed {n}"})
    user = create("/api/v2/users", "users", {"email": f"fuzz-user-{n}@example.com"})
    account = create(
        "/api/v2/service_accounts", "users", {"email": f"fuzz-sa-{n}@example.com", "service_account": True}
    )
    sa_key = create(
        f"/api/v2/service_accounts/{account['id']}/application_keys",
        "application_keys",
        {"name": f"fuzz seed service account {n}"},
    )
    ids["api_key"].append(api_key["id"])
    ids["app_key"] += [app_key["id"], sa_key["id"]]
    ids["client_token"].append(token["id"])
    ids["user"] += [user["id"], account["id"]]
    ids["service_account"].append(account["id"])
    v1_keys += [api_key["attributes"]["key"], app_key["attributes"]["key"]]
roles = [role["id"] for role in call("GET", "/api/v2/roles")["data"]]

sign_in = requests.post(
    base + "/api/console/session",
    json={"email": creds["KEYPLANE_ADMIN_EMAIL"], "password": creds["KEYPLANE_ADMIN_PASSWORD"]},
    timeout=30,
)
if sign_in.status_code != 201:
    sys.exit(f"seed: sign-in answered {sign_in.status_code}: {sign_in.text}")


def toml(value):
    # JSON strings and arrays of strings are valid TOML.
    return json.dumps(value)


lines = ["# Written by tests/schemathesis/seed.py for one run."]
auth = {
    "apiKeyAuth": creds["DD_API_KEY"],
    "appKeyAuth": creds["DD_APP_KEY"],
    "clientTokenAuth": token["attributes"]["key"],
    "consoleSession": sign_in.cookies.get("keyplane_session"),
}
for scheme, value in auth.items():
    lines += [f"[auth.openapi.{scheme}]", f"api_key = {toml(value)}"]
dictionaries = {f"{name}_ids": values for name, values in ids.items()}
dictionaries["v1_keys"] = v1_keys
dictionaries["role_ids"] = roles
for name, values in dictionaries.items():
    lines += [f"[dictionaries.{name}]", f"values = {toml(values)}"]
bindings = {
    "path.api_key_id": "api_key_ids",
    "path.app_key_id": "app_key_ids",
    "path.client_token_id": "client_token_ids",
    "path.user_id": "user_ids",
    "path.service_account_id": "service_account_ids",
    "path.key": "v1_keys",
    "body.data.relationships.roles.data[*].id": "role_ids",
}
lines.append("[parameters]")
# Half the cases use a real id, so the by-id operations answer more than 404.
for parameter, name in bindings.items():
    lines.append(f"{toml(parameter)} = {{ dictionary = {toml(name)}, probability = 0.5 }}")
# Each failed sign-in slows the next answers down (up to 8 s), by design: fuzzing it would
# spend the run waiting. tests/api/console_session.rs covers it.
lines += ["[[operations]]", 'include-operation-id = "CreateConsoleSession"', "enabled = false"]
(out_dir / "schemathesis.toml").write_text("\n".join(lines) + "\n")
(out_dir / "protected").write_text("\n".join(protected) + "\n")
print(f"seed: {sum(map(len, ids.values()))} resources, {len(protected)} protected values")
