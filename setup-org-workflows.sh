#!/usr/bin/env bash
# Apply the ChittyOS CI/CD standard to every repository of each organization given
# (SOP-001 step 2), with one pull request per repository. Runs `chitty-cicd apply`.
#
# Usage: ./setup-org-workflows.sh [ORG ...] [-- APPLY_OPTION ...]
#   With no ORG it covers ChittyOS, ChittyCorp and nevershitty.
#   Options after `--` go to `chitty-cicd apply`, e.g. -- --dry-run or -- --only-failed.
# Exit status is chitty-cicd's: 0 all succeeded, 1 a repository failed, 2 setup error.
set -euo pipefail

orgs=()
apply_options=()
while (($#)); do
  if [[ $1 == "--" ]]; then
    shift
    apply_options=("$@")
    break
  fi
  orgs+=("$1")
  shift
done
if ((${#orgs[@]} == 0)); then
  orgs=(ChittyOS ChittyCorp nevershitty)
fi

if ! command -v chitty-cicd >/dev/null 2>&1; then
  echo "error: chitty-cicd is not installed; run: pip install -e \"$(cd "$(dirname "$0")" && pwd)\"" >&2
  exit 2
fi

org_options=()
for org in "${orgs[@]}"; do
  org_options+=(--org "$org")
done
exec chitty-cicd apply "${org_options[@]}" ${apply_options[@]+"${apply_options[@]}"}
