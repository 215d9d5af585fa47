"""schemathesis hooks for tests/schemathesis/run.sh.

The fuzzer learns ids from responses (lists, creates) and reuses them in later requests. It
must not delete, rename, rescope or disable its own keys or the admin: a run that revokes its
own credentials answers 403 to everything after that and tests nothing. Any request other than
a GET whose path names one of those values goes to an id that does not exist instead.

A JSON:API PATCH body repeats the path's id (422 otherwise), which generated bodies almost
never do; most PATCH cases get the path's id copied in, so the update itself is fuzzed.
"""

import os
import random
import re

import schemathesis

PROTECTED = {
    line.strip()
    for line in open(os.environ["KEYPLANE_FUZZ_PROTECTED"], encoding="utf-8")
    if line.strip()
}
STAND_IN = "00000000-0000-4000-8000-000000000000"
# Seeded, so a run with the same schemathesis seed sends the same requests.
CHOICE = random.Random(int(os.environ.get("SCHEMATHESIS_SEED", "0")))


@schemathesis.hook
def before_call(context, case, kwargs):
    method = case.method.upper()
    params = case.path_parameters or {}
    if method != "GET":
        for name, value in list(params.items()):
            if str(value) in PROTECTED:
                params[name] = STAND_IN
    names = re.findall(r"{(\w+)}", case.operation.path)
    data = case.body.get("data") if isinstance(case.body, dict) else None
    if method == "PATCH" and names and isinstance(data, dict) and CHOICE.random() < 0.75:
        data["id"] = params.get(names[-1], data.get("id"))
