"""Per project type: the package ecosystem facts that workflows, Dependabot and CODEOWNERS share."""

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
