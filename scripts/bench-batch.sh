#!/usr/bin/env bash
# Batch matching against the Python hpo3 package: installs hpo3 into .venv-test (for this
# benchmark only; the tests do not need it), then runs `cargo bench -p raremesh --bench batch`.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv-test/bin/python ] || python3 -m venv .venv-test
.venv-test/bin/python -c 'import pyhpo' 2>/dev/null \
  || .venv-test/bin/pip install --quiet --disable-pip-version-check hpo3==1.5.1
exec cargo bench -p raremesh --bench batch -- "$@"
