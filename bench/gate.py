"""The intake gate against bench/baseline, the bare axum server, keyplane with its default
flags and log level: gate_nginx puts nginx auth_request in front of a static backend and
compares keyplane's /intake/authorize with the bare server's static one in its place;
gate_direct sends wrk straight to keyplane's /intake/authorize and to /api/v1/validate with
the same keys (the gate's own cost, without a proxy); gate_haproxy compares HAProxy checking
keys in the map keyplane keeps (deploy/haproxy) with plain HAProxy proxying to the same
backend; validate_bare compares /api/v1/validate and /ping with the bare server's static JSON.
"""

import os
import re
import secrets
import subprocess
import time

from common import BENCH_DIR, REPO_DIR, Process, Server, bare_server, free_port, request
from load import compare, pair_row, ratio, rotate_script, write_lines
from results import machine, now_utc, spread, target_rows, write_section

WORKLOADS = ("gate_nginx", "gate_direct", "gate_haproxy", "validate_bare")
# What nginx sends keyplane for the gate's sub-request (bench/nginx.conf).
NGINX_GATE_HEADERS = {"X-Original-URI": "/api/v2/series", "X-Original-Method": "GET"}


def nginx(tmp, name, auth_port, backend_port):
    prefix = os.path.join(tmp, name)
    os.makedirs(prefix, exist_ok=True)
    port = free_port()
    with open(os.path.join(BENCH_DIR, "nginx.conf")) as f:
        text = f.read()
    for k, v in {"PREFIX": prefix, "LISTEN_ADDR": f"127.0.0.1:{port}",
                 "AUTH_ADDR": f"127.0.0.1:{auth_port}",
                 "BACKEND_ADDR": f"127.0.0.1:{backend_port}"}.items():
        text = text.replace(k, v)
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        f.write(text)
    return Process(["nginx", "-p", prefix, "-c", conf], port, f"nginx ({name})")


def haproxy_config(tmp, name, backend_port, keyplane_port, plain=False, no_map=False):
    """deploy/haproxy/haproxy.cfg with its placeholders filled in; `plain`: the same frontend
    and backends with every keyplane rule left out (a pass-through proxy); `no_map`: every rule
    kept but the digest and map lookup, replaced by a constant tenant (what the rest costs)."""
    prefix = os.path.join(tmp, name)
    os.makedirs(prefix, exist_ok=True)
    port = free_port()
    socket_path, map_path = os.path.join(prefix, "admin.sock"), os.path.join(prefix, "kp.map")
    with open(os.path.join(REPO_DIR, "deploy", "haproxy", "haproxy.cfg")) as f:
        text = f.read()
    for k, v in {"@LISTEN_ADDR@": f"127.0.0.1:{port}",
                 "@BACKEND_ADDR@": f"127.0.0.1:{backend_port}",
                 "@KEYPLANE_ADDR@": f"127.0.0.1:{keyplane_port}",
                 "@ADMIN_SOCKET@": socket_path, "@MAP_FILE@": map_path}.items():
        text = text.replace(k, v)
    if no_map:
        text, n = re.subn(r"var\(txn\.kp_key\),sha2\(256\),hex,lower,map\([^)]*\)",
                          "str(00000000-0000-4000-8000-000000000001)", text)
        if n != 1:
            raise RuntimeError("deploy/haproxy/haproxy.cfg: the map lookup was not found")
    if plain:
        # keyplane's lines are the rules (frontend and intake backend): what is left is the
        # bind, the backends and their servers.
        text = "\n".join(line for line in text.splitlines()
                         if not line.strip().startswith(("acl ", "http-request ", "use_backend ",
                                                          "#"))) + "\n"
    conf = os.path.join(prefix, "haproxy.cfg")
    with open(conf, "w") as f:
        f.write(text)
    return conf, port, socket_path, map_path


def check_gate(port, what, live_key):
    """The proxy lets a live key through and refuses an unknown one, so the figures measure
    a working gate (a 403 or 500 answered fast would flatter it)."""
    for key, want in ((live_key, 200), (secrets.token_hex(16), 403)):
        deadline = time.time() + 10
        got, _ = request(port, "GET", "/api/v2/series", {"DD-API-KEY": key})
        while got != want and time.time() < deadline:
            time.sleep(0.2)
            got, _ = request(port, "GET", "/api/v2/series", {"DD-API-KEY": key})
        if got != want:
            raise RuntimeError(f"{what}: {'live' if want == 200 else 'unknown'} key answered "
                               f"{got}, not {want}")


def run_gate(args, only, tmp, data, made, validate_script):
    """The gate workloads on the installation at `data`; `made` are its real keys."""
    live_file = write_lines(os.path.join(tmp, "live-keys.txt"), [key for _, key in made[:9000]])
    script = rotate_script(os.path.join(tmp, "gate.lua"), live_file, "/api/v2/series")
    validate_live = rotate_script(os.path.join(tmp, "validate-live.lua"), live_file,
                                  "/api/v1/validate")
    authorize_live = rotate_script(os.path.join(tmp, "authorize-live.lua"), live_file,
                                   "/intake/authorize", extra=NGINX_GATE_HEADERS)
    live = made[0][1]
    out = {}
    with bare_server(args.baseline_bin) as static_auth, bare_server(args.baseline_bin) as backend:
        if only & {"gate_nginx", "gate_direct", "validate_bare"}:
            kp = Server(args.bin, data)
            kp.start()
            try:
                if "gate_nginx" in only:
                    out.update(gate_nginx(tmp, args, kp, static_auth, backend, script, live))
                if "gate_direct" in only:
                    out.update(gate_direct(args, kp, static_auth, validate_live, authorize_live,
                                            live))
                if "validate_bare" in only:
                    out.update(validate_bare(args, kp, static_auth, validate_live,
                                             validate_script))
            finally:
                kp.stop()
        if "gate_haproxy" in only:
            out.update(gate_haproxy(tmp, args, data, backend, script, live))
    return out


def two_legs(name, base, ours, args, connections=32):
    """A keyplane leg against a baseline leg, each (url, script)."""
    runs = compare(name, [("baseline",) + base, ("keyplane",) + ours], args.seconds,
                   args.rounds, connections)
    return pair_row(runs["keyplane"], runs["baseline"])


def gate_nginx(tmp, args, kp, static_auth, backend, script, live):
    out = {}
    with nginx(tmp, "nginx-static", static_auth.port, backend.port) as plain, \
            nginx(tmp, "nginx-keyplane", kp.port, backend.port) as gated:
        check_gate(gated.port, "nginx with keyplane", live)
        out["gate_nginx"] = two_legs("gate_nginx", (plain.url(), script),
                                     (gated.url(), script), args)
    # Attribution: a static service answering keyplane's response headers.
    with bare_server(args.baseline_bin, keyplane_headers=True) as heavy, \
            nginx(tmp, "nginx-static", static_auth.port, backend.port) as plain, \
            nginx(tmp, "nginx-headers", heavy.port, backend.port) as padded:
        out["nginx_headers"] = two_legs("nginx_headers", (plain.url(), script),
                                        (padded.url(), script), args)
    return out


def gate_direct(args, kp, bare, validate_live, authorize_live, live):
    """keyplane's /intake/authorize and /api/v1/validate, same keys, same rounds, each
    against the bare server answering the same requests (its static /intake/authorize, and
    its static JSON for any other path): the gate should cost what validate costs."""
    status, _ = request(kp.port, "GET", "/intake/authorize",
                        {"DD-API-KEY": live, **NGINX_GATE_HEADERS})
    if status != 200:
        raise RuntimeError(f"gate_direct: a live key answered {status} on /intake/authorize")
    runs = compare("gate_direct", [
        ("bare_validate", bare.url("/api/v1/validate"), validate_live),
        ("validate", kp.url("/api/v1/validate"), validate_live),
        ("bare_authorize", bare.url("/intake/authorize"), authorize_live),
        ("authorize", kp.url("/intake/authorize"), authorize_live),
    ], args.seconds, args.rounds, 32)
    gate = pair_row(runs["authorize"], runs["bare_authorize"])
    validate = pair_row(runs["validate"], runs["bare_validate"])
    # Each round's gate ratio over the same round's validate ratio.
    per_round = [{"rps": (a["rps"] / ba["rps"]) / (v["rps"] / bv["rps"])}
                 for a, ba, v, bv in zip(runs["authorize"], runs["bare_authorize"],
                                         runs["validate"], runs["bare_validate"])]
    gate["vs_validate"] = ratio(per_round, [{"rps": 1.0}] * len(per_round))
    return {"gate_direct": gate, "gate_direct_validate": validate}


def validate_bare(args, kp, bare, validate_live, validate_script):
    return {
        "validate_live": two_legs("validate_live", (bare.url("/validate"), None),
                                  (kp.url("/api/v1/validate"), validate_live), args),
        "validate_bare": two_legs("validate_bare", (bare.url("/validate"), None),
                                  (kp.url("/api/v1/validate"), validate_script), args),
        "ping_bare": two_legs("ping_bare", (bare.url("/"), None), (kp.url("/ping"), None), args),
    }


def gate_haproxy(tmp, args, data, backend, script, live):
    kp_port = free_port()
    conf_plain, port_plain, _, _ = haproxy_config(tmp, "haproxy-plain", backend.port, kp_port,
                                                  plain=True)
    conf, port, sock, map_file = haproxy_config(tmp, "haproxy-map", backend.port, kp_port)
    conf_nomap, port_nomap, _, _ = haproxy_config(tmp, "haproxy-nomap", backend.port, kp_port,
                                                  no_map=True)
    with open(map_file, "w") as f:
        subprocess.run([args.bin, "haproxy-map", "--data-dir", data], stdout=f,
                       stderr=subprocess.DEVNULL, check=True, timeout=120)
    url = lambda p: f"http://127.0.0.1:{p}"
    with Process(["haproxy", "-db", "-f", conf_plain], port_plain, "plain HAProxy"), \
            Process(["haproxy", "-db", "-f", conf_nomap], port_nomap, "HAProxy without the map"), \
            Process(["haproxy", "-db", "-f", conf], port, "HAProxy with the map"):
        kp = Server(args.bin, data, port=kp_port,
                    extra=["--haproxy-socket", sock, "--haproxy-map", map_file])
        kp.start()
        try:
            check_gate(port, "HAProxy with the map", live)
            return {
                "gate_haproxy": two_legs("gate_haproxy", (url(port_plain), script),
                                         (url(port), script), args),
                "haproxy_rules": two_legs("haproxy_rules", (url(port_plain), script),
                                          (url(port_nomap), script), args),
            }
        finally:
            kp.stop()


LABELS = {
    "gate_nginx": ("nginx `auth_request` → keyplane `/intake/authorize` → static backend",
                   "same nginx, bare axum static authorization service", ">= 0.95"),
    "nginx_headers": ("(attribution) same nginx, the static service answering keyplane's "
                      "response headers (`--keyplane-headers`)", "the static service", None),
    "gate_direct": ("wrk → keyplane `/intake/authorize` (nginx's sub-request headers), 9,000 "
                    "live keys", "bare axum `/intake/authorize` (static tenant headers)", None),
    "gate_direct_validate": ("wrk → keyplane `/api/v1/validate`, the same keys, the same rounds",
                             "bare axum, the same requests", None),
    "validate_live": ("keyplane `/api/v1/validate`, 9,000 live keys, 0 % unknown",
                      "bare axum `/validate`", ">= 0.90"),
    "validate_bare": ("keyplane `/api/v1/validate`, 10,000 keys, 10 % unknown",
                      "bare axum `/validate`", ">= 0.90"),
    "ping_bare": ("keyplane `/ping` (the whole middleware stack)", "bare axum `/`", None),
    "gate_haproxy": ("HAProxy with keyplane's synced map (deploy/haproxy) → static backend",
                     "plain HAProxy (same bind and backend, no keyplane lines)", ">= 0.85"),
    "haproxy_rules": ("(attribution) the same HAProxy rules, digest and map lookup replaced "
                      "by a constant", "plain HAProxy", None),
}


def report_gate(args, gate):
    lines = [
        "## Intake gate and bare-axum baseline",
        "",
        f"Run {now_utc()} by `bash bench/run.sh --only "
        f"{','.join(k for k in WORKLOADS if k in gate)} --rounds {args.rounds} "
        f"--seconds {args.seconds}` ({args.rounds} alternating rounds of {args.seconds} s, "
        "wrk -t2 -c32; medians; a ratio is the median of the ratios within each round, the "
        "spread is their lowest–highest).",
        "",
        f"Machine: {machine()}.",
        "",
        "keyplane runs with its default flags and log level (`--data-dir`, `--listen` and "
        "`--max-api-keys-per-org` only; log lines go to /dev/null), holding 100,000 API keys "
        "(and 100,000 application keys and client tokens: the first table's installation); "
        "the gate workloads rotate over 9,000 live keys in `DD-API-KEY` (0 % unknown) on "
        "`GET /api/v2/series`. The baseline is `bench/baseline`, a bare axum server (same axum, "
        "hyper and tokio, no middleware), which is also the static backend behind the proxies.",
        "",
        "| workload | req/s | p50 ms | p99 ms | baseline | baseline req/s | baseline p50 ms | "
        "baseline p99 ms | throughput ratio (spread) | p99 ratio (spread) | non-2xx |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for k, row in gate.items():
        label, base, _ = LABELS[k]
        lines.append(
            f"| {label} | {row['rps']:.0f} | {row['p50']:.2f} | {row['p99']:.2f} | {base} | "
            f"{row['base_rps']:.0f} | {row['base_p50']:.2f} | {row['base_p99']:.2f} | "
            f"{spread(row['rps_ratio'])} | {spread(row['p99_ratio'])} | "
            f"{row['non2xx']} / {row['base_non2xx']} |")
    checks = [(f"{LABELS[k][0]}: throughput / baseline", row["rps_ratio"][0], LABELS[k][2])
              for k, row in gate.items() if LABELS[k][2]]
    if "gate_direct" in gate:
        checks.append(("`/intake/authorize` ratio / `/api/v1/validate` ratio (both vs bare "
                       "axum, same keys, same rounds): the gate within 5 % of validate",
                       gate["gate_direct"]["vs_validate"][0], ">= 0.95"))
    lines += [""] + target_rows(checks) + [""]
    text = "\n".join(lines)
    if args.out:
        write_section(args.out, text, "gate")
    print(text)
