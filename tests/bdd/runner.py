"""Runs Datadog's own Gherkin scenarios (features/) live against a keyplane URL through the
official Python client, and reports each scenario.

    DD_TEST_CLIENT_API_KEY=... DD_TEST_CLIENT_APP_KEY=... \
      python runner.py --host http://127.0.0.1:8080 [--pending pending.txt] [--only TEXT]

A small interpreter of our own rather than pytest-bdd: the step vocabulary of these features
is a few dozen lines, and owning it keeps every rule that reproduces Datadog's runner
(tests/conftest.py in DataDog/datadog-api-client-python) visible and commented here.
Exit status 0 when every runnable scenario passed, or failed and is listed in --pending;
1 when one failed unlisted, a listed one passed, or a listed name matches no scenario.
"""

import argparse
import importlib
import json
import os
import re
import sys
import traceback
from datetime import datetime, timezone
from pathlib import Path

from dateutil.relativedelta import relativedelta
from datadog_api_client import exceptions
from datadog_api_client.api_client import ApiClient
from datadog_api_client.configuration import Configuration
from datadog_api_client.model_utils import OpenApiModel, data_to_dict, file_type

HERE = Path(__file__).resolve().parent
FEATURES = HERE / "features"

# Datadog's runner skips these tags; it runs `@integration-only` ones in a live run, and
# `@replay-only` ones only against its recordings. Other `@skip-<language>` tags are ignored.
SKIP_TAGS = {"skip", "skip-python", "replay-only"}


# --- names: operation ids and tags to the client's Python names ------------------------

# Datadog's generator rewrites these before snake-casing (.generator/src/generator/replacement.json).
EDGE_CASES = {"IdP": "Idp", "AuthNMapping": "AuthnMapping", "AuthN ": "Authn ", "IoT": "Iot",
              "SLOs": "Slos", "APIs": "Apis"}


def snake_case(value):
    for token, replacement in EDGE_CASES.items():
        value = value.replace(token, replacement)
    value = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", value)
    value = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", value).lower()
    value = re.sub(r"\W", "_", value).rstrip("_")
    return re.sub(r"__+", "_", value)


def param_name(name):
    # The generator escapes Python keywords among parameter names, as Datadog's runner does.
    name = snake_case(name)
    return "_from" if name == "from" else name


def api_instance(version, tag, client):
    module = importlib.import_module(f"datadog_api_client.{version}.api.{snake_case(tag)}_api")
    return getattr(module, re.sub(r"[^a-zA-Z0-9]", "", tag) + "Api")(client)


# --- values: JSON paths and the `{{ ... }}` templates ----------------------------------

class StepFailed(AssertionError):
    pass


def shown(value):
    """A response for a failure message: secrets (a created key's `key`) masked, cut short."""

    def mask(v):
        if isinstance(v, dict):
            return {k: "<redacted>" if k == "key" else mask(x) for k, x in v.items()}
        return [mask(x) for x in v] if isinstance(v, list) else v

    return json.dumps(mask(value), default=str)[:400]


def lookup(value, path):
    """`a.b[0].c` in nested dicts and lists (Datadog's runner uses glom the same way)."""
    for part in re.sub(r"\[([0-9]*)\]", r".\1", path).strip(".").split("."):
        if part == "":
            continue
        try:
            value = value[int(part)] if isinstance(value, list) else value[part]
        except (KeyError, IndexError, TypeError, ValueError):
            raise StepFailed(f"no {path!r} in {shown(value)}")
    return value


def relative_time(now, iso):
    """`timestamp('now + 1d')` / `timeISO('now-3h')`: the scenario's frozen time, shifted."""
    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "M": "months", "y": "years"}

    def shift(arg):
        m = re.match(r"now( *([+-]) *(\d+)([smhdMy]))?", arg)
        if not m:
            return ""
        ret = now
        if m.group(1):
            ret += relativedelta(**{units[m.group(4)]: int(m.group(2) + m.group(3))})
        return ret.isoformat(timespec="seconds") if iso else int(ret.timestamp())

    return shift


def render(text, ctx):
    """Jinja's subset the features use: `{{ name }}`, `{{ a.b[0] }}`, `{{ fn('arg') }}`."""

    def one(m):
        expr = m.group(1).strip()
        call = re.fullmatch(r"(\w+)\((['\"])(.*)\2\)", expr)
        value = ctx[call.group(1)](call.group(3)) if call else lookup(ctx, expr)
        return value if isinstance(value, str) else str(value)

    return re.sub(r"\{\{(.*?)\}\}", one, text)


def context_for(scenario_name):
    # As Datadog's live runs name things: "Test-Python-<scenario>-<unix time>".
    now = datetime.now(timezone.utc).replace(microsecond=0)
    unique = f"Test-Python-{re.sub(r'[^A-Za-z0-9]+', '_', scenario_name)[:100]}-{int(now.timestamp())}"
    alnum = re.sub(r"[^A-Za-z0-9]+", "", unique)
    return {
        "unique": unique, "unique_lower": unique.lower(), "unique_upper": unique.upper(),
        "unique_alnum": alnum, "unique_lower_alnum": alnum.lower(),
        "unique_upper_alnum": alnum.upper(),
        "timestamp": relative_time(now, False), "timeISO": relative_time(now, True),
    }


# --- the Gherkin subset of these files ---------------------------------------------------

class Scenario:
    def __init__(self, feature, name, tags, background):
        self.feature, self.name, self.tags, self.steps = feature, name, tags, list(background)

    @property
    def id(self):
        return f"{self.feature}: {self.name}"


def parse_feature(path):
    """Feature, Background and Scenario blocks with tags and one-line steps; no outlines,
    tables or doc strings (none of these files use them)."""
    rel = f"{path.parent.name}/{path.name}"
    feature_tags, tags, background, scenarios, current = [], [], [], [], None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line.startswith("@"):
            tags += [t[1:] for t in line.split()]
        elif line.startswith("Feature:"):
            feature_tags, tags = tags, []
        elif line.startswith("Background:"):
            current = background
        elif line.startswith("Scenario:"):
            scenario = Scenario(rel, line[len("Scenario:"):].strip(), feature_tags + tags, background)
            scenarios.append(scenario)
            current, tags = scenario.steps, []
        elif current is not None and re.match(r"(Given|When|Then|And|But) ", line):
            current.append(line.split(" ", 1)[1])
    return scenarios


# --- one scenario's run ------------------------------------------------------------------

class Run:
    def __init__(self, scenario, host, given, undo):
        self.scenario, self.host, self.given, self.undo_rules = scenario, host, given, undo
        self.version = Path(scenario.feature).parent.name
        self.ctx = context_for(scenario.name)
        self.configuration = self.new_configuration(with_keys=False)
        self.client = ApiClient(self.configuration)
        self.api = None
        self.request = None
        self.response = (None, None, None)
        self.undos = []
        self.path_parameters = {}
        self.warnings = []

    def new_configuration(self, with_keys):
        # Datadog's runner asks for (body, status, headers) and the spec's property names.
        c = Configuration(host=self.host, return_http_data_only=False, spec_property_naming=True)
        if with_keys:
            self.set_key(c, "apiKeyAuth")
            self.set_key(c, "appKeyAuth")
        return c

    @staticmethod
    def set_key(configuration, name):
        env = {"apiKeyAuth": "DD_TEST_CLIENT_API_KEY", "appKeyAuth": "DD_TEST_CLIENT_APP_KEY"}[name]
        configuration.api_key[name] = os.environ.get(env, "fake")

    # Steps, tried in order; the first pattern that matches the whole step runs.
    def steps(self):
        return [
            (r'a valid "(apiKeyAuth|appKeyAuth)" key in the system',
             lambda name: self.set_key(self.configuration, name)),
            (r'an instance of "(.+)" API', self.instance),
            (r'operation "(.+)" enabled', self.enable),
            (r'new "(.+)" request', self.new_request),
            (r"body with value (.+)", self.body),
            (r'body from file "(.+)"', self.body_from_file),
            (r'request contains "(.+)" parameter from "(.+)"', self.parameter_from),
            (r'request contains "(.+?)" parameter with value (.+)', self.parameter_value),
            (r"the request is sent", lambda: self.send(paginated=False)),
            (r"the request with pagination is sent", lambda: self.send(paginated=True)),
            (r"the response status is (\d+) (.*)", self.expect_status),
            (r'the response "(.+?)" is equal to (.+)', self.expect_equal),
            (r'the response "(.+?)" has the same value as "(.+)"', self.expect_same),
            (r'the response "(.+?)" has length (\d+)', self.expect_length),
            (r"the response has (\d+) items", lambda n: self.expect_length("", n)),
            (r'the response "(.+?)" is false', self.expect_false),
            (r'the response "(.+?)" has field "(.+)"', lambda p, f: self.expect_field(p, f, True)),
            (r'the response "(.+?)" does not have field "(.+)"',
             lambda p, f: self.expect_field(p, f, False)),
            (r'the response "(.+?)" has item with field "(.+?)" with value (.+)', self.expect_item),
            (r'the response "(.+?)" array contains value (.+)', self.expect_contains),
        ]

    def step(self, text):
        if text in self.given:
            return self.run_given(self.given[text])
        for pattern, action in self.steps():
            m = re.fullmatch(pattern, text)
            if m:
                return action(*m.groups())
        raise StepFailed("no step definition matches")

    def instance(self, name):
        self.api = api_instance(self.version, name, self.client)

    def enable(self, name):
        self.configuration.unstable_operations[snake_case(name)] = True

    def new_request(self, name):
        self.request = {"operation": snake_case(name), "kwargs": {}}

    def body(self, text):
        self.request["kwargs"]["body"] = render(text, self.ctx)

    def body_from_file(self, path):
        self.body((FEATURES / self.version / path).read_text())

    def parameter_from(self, name, path):
        value = lookup(self.ctx, path)
        self.request["kwargs"][param_name(name)] = json.dumps(value)
        self.path_parameters[name] = self.path_parameters[param_name(name)] = value

    def parameter_value(self, name, value):
        text = render(value, self.ctx)
        self.request["kwargs"][param_name(name)] = text
        self.path_parameters[name] = self.path_parameters[param_name(name)] = json.loads(text)

    def typed(self, api, operation, kwargs):
        """Each argument's JSON text as the client's own model type, as Datadog's runner
        passes them: a value the client cannot represent fails here, not on the wire."""
        params = getattr(api, f"_{operation}_endpoint").params_map
        typed = {}
        for k, v in kwargs.items():
            types = params[k]["openapi_types"]
            # A file parameter names a file beside the features (an upload's content).
            typed[k] = (open(FEATURES / self.version / json.loads(v), "rb") if types == (file_type,)
                        else self.client.deserialize(v, types, True))
        return typed

    def send(self, paginated):
        operation = self.request["operation"]
        kwargs = self.typed(self.api, operation, self.request["kwargs"])
        try:
            if paginated:
                self.configuration.return_http_data_only = True
                items = list(getattr(self.api, f"{operation}_with_pagination")(**kwargs))
                self.response = (data_to_dict(items), 200, None)
                return
            body, status, headers = getattr(self.api, operation)(**kwargs)
        except exceptions.ApiException as e:
            self.response = (parse_json(e.body), e.status, e.headers)
            return
        finally:
            self.configuration.return_http_data_only = False
        # The client keeps fields it could not parse (an unknown enum value, a wrong type) as
        # "unparsed"; Datadog's runner fails on them unless the scenario is @skip-validation.
        if "skip-validation" not in self.scenario.tags and unparsed(body):
            raise StepFailed(f"the client could not parse the response: {shown(data_to_dict(body))}")
        self.response = (data_to_dict(body), status, headers)
        self.undos.append((self.api, operation, self.response[0], self.request["kwargs"].get("body")))

    def run_given(self, entry):
        """A `given.json` fixture: call its operation with fresh keys, store the (reshaped)
        response under its key, and undo it after the scenario."""
        configuration = self.new_configuration(with_keys=True)
        operation = snake_case(entry["operationId"])
        if operation in configuration.unstable_operations:
            configuration.unstable_operations[operation] = True
        client = ApiClient(configuration)
        api = api_instance(self.version, entry["tag"], client)
        kwargs = {}
        for p in entry.get("parameters", []):
            kwargs[param_name(p["name"])] = (render(p["value"], self.ctx) if "value" in p
                            else json.dumps(lookup(self.ctx, p["source"])))
        try:
            result, _, _ = getattr(api, operation)(**self.typed(api, operation, kwargs))
        except exceptions.ApiException as e:
            raise StepFailed(f"fixture {entry['operationId']}: {e.status} {e.body}")
        result = data_to_dict(result)
        self.undos.append((api, operation, result, kwargs.get("body")))
        self.ctx[entry["key"]] = lookup(result, entry["source"]) if "source" in entry else result

    def undo_all(self):
        """Each created thing's `undo.json` rule, newest first. As in Datadog's runner an
        operation without a rule is an error, and a failed undo only a warning."""
        for api, operation, response, request_body in reversed(self.undos):
            rule = self.undo_rules[self.version].get(operation)
            if rule is None:
                raise StepFailed(f"undo.json has no rule for {operation}")
            if rule["undo"]["type"] != "unsafe":
                continue
            undo = rule["undo"]
            if "tag" in undo and undo["tag"] != rule["tag"]:
                api = api_instance(self.version, undo["tag"], api.api_client)
            kwargs = {}
            for p in undo.get("parameters", []):
                origin = p.get("origin", "response")
                if origin == "path":
                    kwargs[p["name"]] = self.path_parameters.get(p["source"])
                    continue
                data = parse_json(request_body) if origin == "request" else response
                if "source" in p:
                    kwargs[p["name"]] = lookup(data, p["source"])
                else:
                    kwargs[p["name"]] = json.loads(render(p["template"], data))
            name = snake_case(undo["operationId"])
            if name in api.api_client.configuration.unstable_operations:
                api.api_client.configuration.unstable_operations[name] = True
            try:
                getattr(api, name)(**kwargs)
            except exceptions.ApiException as e:
                self.warnings.append(f"failed undo {name}: {e.status} {e.body}")

    # Assertions on the last response.
    def expect_status(self, status, _description):
        if int(status) != self.response[1]:
            raise StepFailed(f"status {self.response[1]}, body {shown(self.response[0])}")

    def expect_equal(self, path, value):
        want, got = json.loads(render(value, self.ctx)), lookup(self.response[0], path)
        if want != got:
            raise StepFailed(f"{path} is {shown(got)}, not {json.dumps(want)}")

    def expect_same(self, path, fixture_path):
        want, got = lookup(self.ctx, fixture_path), lookup(self.response[0], path)
        if want != got:
            raise StepFailed(f"{path} is {shown(got)}, not {json.dumps(want)}")

    def expect_length(self, path, length):
        got = lookup(self.response[0], path)
        if len(got) != int(length):
            raise StepFailed(f"{path or 'the response'} has {len(got)} items, not {length}")

    def expect_false(self, path):
        if lookup(self.response[0], path):
            raise StepFailed(f"{path} is {shown(lookup(self.response[0], path))}")

    def expect_field(self, path, field, present):
        if (field in lookup(self.response[0], path)) != present:
            raise StepFailed(f"{path} {'lacks' if present else 'has'} {field!r}")

    def expect_item(self, path, key_path, value):
        want = json.loads(render(value, self.ctx))
        for item in lookup(self.response[0], path):
            try:
                if lookup(item, key_path) == want:
                    return
            except StepFailed:
                pass
        raise StepFailed(f"no item of {path} has {key_path} = {json.dumps(want)}")

    def expect_contains(self, path, value):
        want = json.loads(render(value, self.ctx))
        if want not in lookup(self.response[0], path):
            raise StepFailed(f"{path} does not contain {json.dumps(want)}")


def parse_json(body):
    try:
        return json.loads(body)
    except (TypeError, ValueError):
        return body


def unparsed(value):
    if isinstance(value, list):
        return any(unparsed(v) for v in value)
    if isinstance(value, dict):
        return any(unparsed(v) for v in value.values())
    if isinstance(value, OpenApiModel):
        return value._unparsed or any(unparsed(v) for v in value._data_store.values())
    return False


def run(scenario, host, given, undo):
    """(None, warnings) when the scenario passed, else ("step: why", warnings)."""
    r = Run(scenario, host, given, undo)
    failure = None
    for text in scenario.steps:
        try:
            r.step(text)
        except StepFailed as e:
            failure = f"{text!r}: {e}"
        except Exception as e:  # a runner bug or an unexpected client error: show where
            failure = f"{text!r}: {type(e).__name__}: {e}\n{traceback.format_exc(limit=3)}"
        if failure:
            break
    try:
        r.undo_all()
    except StepFailed as e:
        failure = failure or f"undo: {e}"
    for client in {id(api.api_client): api.api_client for api, *_ in r.undos}.values():
        client.close()
    r.client.close()
    return failure, r.warnings


# --- the ratchet -------------------------------------------------------------------------

def read_pending(path):
    """`<feature>: <scenario>  # <reason>` lines; `#` starts a comment line."""
    pending = {}
    for line in Path(path).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, reason = line.partition("  # ")
            pending[name.strip()] = reason.strip()
    return pending


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", required=True, help="keyplane's base URL")
    parser.add_argument("--pending", help="scenarios expected to fail (tests/bdd/pending.txt)")
    parser.add_argument("--only", help="run only scenarios whose '<feature>: <name>' contains this")
    args = parser.parse_args()
    # The client takes keys from DD_API_KEY / DD_APP_KEY when a scenario sets none; scenarios
    # without a "valid key" step must send none, as in Datadog's CI.
    for name in ("DD_API_KEY", "DD_APP_KEY", "DD_SITE"):
        os.environ.pop(name, None)

    given = {}
    undo = {}
    for version in ("v1", "v2"):
        path = FEATURES / version / "given.json"
        for entry in json.loads(path.read_text()) if path.exists() else []:
            given[entry["step"]] = entry
        undo[version] = {snake_case(op): rule
                         for op, rule in json.loads((FEATURES / version / "undo.json").read_text()).items()}
    pending = read_pending(args.pending) if args.pending else {}

    counts = {"pass": 0, "pending": 0, "FAIL": 0, "FIXED": 0, "not run": 0}
    seen = set()
    for feature in sorted(FEATURES.glob("v*/*.feature")):
        for scenario in parse_feature(feature):
            if args.only and args.only not in scenario.id:
                continue
            seen.add(scenario.id)
            skipped = sorted(SKIP_TAGS & set(scenario.tags))
            if skipped:
                counts["not run"] += 1
                print(f"bdd not run (@{skipped[0]}): {scenario.id}", flush=True)
                continue
            failure, warnings = run(scenario, args.host, given, undo)
            reason = pending.get(scenario.id)
            if failure is None:
                outcome = "pass" if reason is None else "FIXED"
                detail = "" if reason is None else "  -- listed in pending.txt but passes: remove it"
            else:
                outcome = "FAIL" if reason is None else "pending"
                detail = f"  -- {reason}: {failure}" if reason else f"  -- {failure}"
            counts[outcome] += 1
            print(f"bdd {outcome}: {scenario.id}{detail}", flush=True)
            for w in warnings:
                print(f"bdd   warning: {w}", flush=True)
    stale = [name for name in pending if name not in seen] if not args.only else []
    for name in stale:
        print(f"bdd STALE: pending.txt names no scenario: {name}", flush=True)
    print("bdd summary: " + ", ".join(f"{n} {k}" for k, n in counts.items()) + f", {len(stale)} STALE")
    return 1 if counts["FAIL"] or counts["FIXED"] or stale else 0


if __name__ == "__main__":
    sys.exit(main())
