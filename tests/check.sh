#!/usr/bin/env bash
# The project's checks, in order: the exported library matches the notebooks, the notebooks' own tests
# (nbdev_test, CPU flags), then the integration tests (command line, papermill smoke pipeline, browsers).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/browser/setup.sh
nbdev_export
if [ -n "$(git status --porcelain -- bakedavatar)" ]; then
  echo "nbdev_export changed bakedavatar/: the exported library does not match nbs/ (export and commit)." >&2
  git status --short -- bakedavatar >&2
  exit 1
fi
# two notebooks at a time on two cores: one thread each, or their threads fight over the cores
OMP_NUM_THREADS=1 nbdev_test --n_workers 2
python -m pytest -q tests
