"""Facts the templates and the bulk tool share: ecosystems, check names and secrets."""

from __future__ import annotations

from chitty_cicd.detect import LOCKFILES

DEPENDABOT_ECOSYSTEM = {"node": "npm", "python": "pip", "rust": "cargo", "go": "gomod"}

LOCKFILE_NAMES = {
    manager: [name for name, owner in LOCKFILES.items() if owner == manager]
    for manager in ("npm", "pnpm", "yarn")
}

# Corepack from npm, so pnpm and yarn work on Node.js releases that no longer bundle it.
COREPACK_VERSION = "0.36.0"

# Files Dependabot edits, per project type; their review goes to the Dependabot team.
DEPENDABOT_FILES = {
    "node": ["package.json", *LOCKFILES],
    "python": ["requirements*.txt", "pyproject.toml", "setup.py", "setup.cfg", "Pipfile",
               "Pipfile.lock", "poetry.lock", "uv.lock"],
    "rust": ["Cargo.toml", "Cargo.lock"],
    "go": ["go.mod", "go.sum"],
}
GITHUB_ACTIONS_FILES = ["/.github/workflows/"]

# The check the CI workflow reports (its job's `name`), which branch protection requires.
CI_CHECK_NAME = "Build and test"

# Secrets the generated workflows read; a test checks each appears in its workflow.
DEPLOY_SECRETS = {
    "cloudflare": ("CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID"),
    "vercel": ("VERCEL_TOKEN", "VERCEL_ORG_ID", "VERCEL_PROJECT_ID"),
}
DEPLOY_ENVIRONMENTS = ("production", "preview")
TEMPLATE_UPDATE_SECRETS = ("TEMPLATE_UPDATE_TOKEN", "TEMPLATE_UPDATE_APP_PRIVATE_KEY")
SCANNING_SECRET = "SNYK_TOKEN"
