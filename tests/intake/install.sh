#!/usr/bin/env bash
# Installs the clients of the end-to-end tests once, into caches shared by every run:
#   tests/intake/install.sh python   venv with requirements.txt   ($KEYPLANE_INTAKE_VENV,
#                                     default ~/.cache/keyplane-py)
#   tests/intake/install.sh npm      package.json's npm packages  ($KEYPLANE_INTAKE_NPM,
#                                     default ~/.cache/keyplane-npm)
#   tests/intake/install.sh bdd      venv with tests/bdd/requirements.txt, the official Python
#                                     client of Datadog's scenarios ($KEYPLANE_BDD_VENV,
#                                     default ~/.cache/keyplane-bdd)
# Reinstalls only when the pinned list changed; prints the directory. .ci/run calls it before
# the tests, and the tests call it themselves when the directory is missing.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
kind="${1:?usage: install.sh python|npm|bdd}"

case "$kind" in
  python)
    dir="${KEYPLANE_INTAKE_VENV:-$HOME/.cache/keyplane-py}"
    pinned="$here/requirements.txt"
    ;;
  npm)
    dir="${KEYPLANE_INTAKE_NPM:-$HOME/.cache/keyplane-npm}"
    pinned="$here/package-lock.json"
    ;;
  bdd)
    dir="${KEYPLANE_BDD_VENV:-$HOME/.cache/keyplane-bdd}"
    pinned="$here/../bdd/requirements.txt"
    ;;
  *)
    echo "install.sh: unknown kind $kind" >&2
    exit 2
    ;;
esac
stamp="$dir/.keyplane-pinned"

mkdir -p "$(dirname "$dir")"
# Tests run in parallel, and two test processes may share the cache: one installs at a time.
exec 9>"$dir.lock"
flock 9
if ! cmp -s "$pinned" "$stamp"; then
  echo "install.sh: installing $kind clients into $dir" >&2
  case "$kind" in
    python | bdd)
      [ -x "$dir/bin/python" ] || python3 -m venv "$dir"
      "$dir/bin/python" -m pip install --quiet --disable-pip-version-check -r "$pinned" >&2
      ;;
    npm)
      mkdir -p "$dir"
      cp "$here/package.json" "$here/package-lock.json" "$dir/"
      (cd "$dir" && npm ci --silent --no-audit --no-fund >&2)
      ;;
  esac
  cp "$pinned" "$stamp"
fi
flock -u 9
echo "$dir"
