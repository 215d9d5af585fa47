"""Installations to measure: keys made through the API, and filler rows straight into the
SQLite file."""

import http.client
import json
import os
import sqlite3
import threading
import time

from common import key_pair


def create_keys(port, creds, count, threads=16, prefix="bench", resource="api_keys"):
    """Creates `count` API keys or client tokens (`resource`: their path segment and type),
    rounded down to a multiple of `threads`, through the API; returns [(id, key)]."""
    made, lock = [], threading.Lock()
    per_thread = count // threads
    failures = []

    def work(t):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for i in range(per_thread):
            body = json.dumps({"data": {"type": resource,
                                        "attributes": {"name": f"{prefix}-{t}-{i}"}}})
            conn.request("POST", f"/api/v2/{resource}", body,
                         {"Content-Type": "application/json", **key_pair(creds)})
            resp = conn.getresponse()
            data = json.loads(resp.read())
            if resp.status != 201:
                failures.append(f"create failed: {resp.status} {data}")
                return
            with lock:
                made.append((data["data"]["id"], data["data"]["attributes"]["key"]))

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    if failures:
        raise RuntimeError(failures[0])
    return made


# Filler rows, one INSERT ... SELECT over a counter each: SQLite makes the rows itself, so
# 5,000,000 keys take seconds, not the minutes a Python loop would. Ids are random version-4
# UUIDs, lowercase as keyplane writes them: the start-up loads keys in id order, and ids in
# insertion order would make that read sequential, as no real installation's is. Digests are
# random too, so filler can be indexed but never used. unique_name is written as the store
# writes it (keyplane would otherwise fill it row by row at start-up, and the start-up time
# would measure that).
FILLER_COLUMNS = {
    "api_keys": {
        "name": "printf('filler-%07d', :start + i)",
        "name_folded": "printf('filler-%07d', :start + i)",
        "unique_name": "printf('filler-%07d', :start + i)",
        "digest": "randomblob(32)", "sealed_key": "randomblob(60)", "last4": "'fill'",
        "category": "'default'", "remote_config_read_enabled": "1",
        "created_by": ":admin", "modified_by": ":admin",
        "created_at": ":now + i", "modified_at": ":now + i",
    },
    "application_keys": {
        "owner_id": ":admin",
        "name": "printf('filler-%07d', :start + i)",
        "name_folded": "printf('filler-%07d', :start + i)",
        "unique_name": "printf('filler-%07d', :start + i)",
        "digest": "randomblob(32)", "sealed_key": "randomblob(60)", "last4": "'fill'",
        "scopes": "NULL", "created_at": ":now + i",
    },
    "client_tokens": {
        "name": "printf('filler-%07d', :start + i)",
        "name_folded": "printf('filler-%07d', :start + i)",
        "unique_name": "printf('filler-%07d', :start + i)",
        "digest": "randomblob(32)", "sealed_key": "randomblob(60)", "last4": "'fill'",
        "created_by": ":admin", "modified_by": ":admin",
        "created_at": ":now + i", "modified_at": ":now + i",
    },
}

RANDOM_UUID = ("lower(printf('%s-%s-4%s-%x%s-%s', hex(randomblob(4)), hex(randomblob(2)), "
               "substr(hex(randomblob(2)), 2), 8 + abs(random()) % 4, "
               "substr(hex(randomblob(2)), 2), hex(randomblob(6))))")

# The counters the insert triggers keep, recomputed once after the filler instead.
RECOUNT = [
    "UPDATE orgs SET api_key_count = (SELECT COUNT(*) FROM api_keys WHERE org_id = orgs.id)",
    "UPDATE users SET app_key_count = "
    "(SELECT COUNT(*) FROM application_keys WHERE owner_id = users.id)",
]


def bulk_insert(data_dir, count, table="api_keys"):
    """`count` filler rows into `table` of the SQLite file (server stopped), in the first
    organization, owned by its first user."""
    if count <= 0:
        return
    db = sqlite3.connect(os.path.join(data_dir, "keyplane.db"), isolation_level=None)
    # A scratch installation: a crash during the filler loses nothing worth keeping.
    db.execute("PRAGMA synchronous = OFF")
    # No journal either (keyplane sets WAL again when it opens the file): random ids and
    # digests touch pages all over the indexes, and a WAL would hold every one of them twice.
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA cache_size = -2000000")
    org_id, admin = db.execute(
        "SELECT org_id, id FROM users ORDER BY created_at LIMIT 1").fetchone()
    # The insert trigger writes a change-log row and bumps a counter per key: the index is
    # loaded from the tables at start, so the log rows would only slow the filler down.
    triggers = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND "
                          "tbl_name = ? AND sql LIKE '%AFTER INSERT%'", (table,)).fetchall()
    columns = FILLER_COLUMNS[table]
    sql = (f"WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < :n - 1) "
           f"INSERT INTO {table} (id, org_id, {', '.join(columns)}) "
           f"SELECT {RANDOM_UUID}, :org, "
           f"{', '.join(columns.values())} FROM seq")
    db.execute("BEGIN")
    for name, _ in triggers:
        db.execute(f"DROP TRIGGER {name}")
    # Names go on after earlier filler of the same table (they are unique per organization).
    start = db.execute(f"SELECT COUNT(*) FROM {table} WHERE name LIKE 'filler-%'").fetchone()[0]
    db.execute(sql, {"n": count, "org": org_id, "start": start,
                     "admin": admin, "now": int(time.time() * 1_000_000)})
    for _, trigger in triggers:
        db.execute(trigger)
    for recount in RECOUNT:
        db.execute(recount)
    db.execute("COMMIT")
    db.close()
