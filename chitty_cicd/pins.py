"""The pinned GitHub Actions that every generated workflow refers to."""

from __future__ import annotations

import re
from dataclasses import dataclass

_SHA_PATTERN = re.compile(r"[0-9a-f]{40}")
_VERSION_PATTERN = re.compile(r"v\d+\.\d+\.\d+")


@dataclass(frozen=True)
class ActionPin:
    """One action repository pinned to the commit of a release tag."""

    repository: str
    sha: str
    version: str

    def __post_init__(self) -> None:
        if not _SHA_PATTERN.fullmatch(self.sha):
            raise ValueError(
                f"invalid sha {self.sha!r} for {self.repository}: "
                "expected a 40-character lowercase hex commit id"
            )
        if not _VERSION_PATTERN.fullmatch(self.version):
            raise ValueError(
                f"invalid version {self.version!r} for {self.repository}: "
                "expected a full release tag such as v5.0.1"
            )

    def uses(self, path: str = "") -> str:
        """Build the `uses:` value, for example `actions/checkout@<sha> # v7.0.1`.

        `path` names an action inside the repository, so `uses("upload-sarif")` on the
        github/codeql-action pin gives `github/codeql-action/upload-sarif@<sha> # v4.36.2`.
        """
        action = self.repository
        subpath = path.strip("/")
        if subpath:
            action = f"{action}/{subpath}"
        return f"{action}@{self.sha} # {self.version}"


# Each sha is the commit that the release tag points at, read with
# `git rev-parse <tag>^{commit}` so that annotated tags resolve to their commit, not
# to the tag object. For every pin the moving major tag (v7, v4, ...) pointed at the same
# commit when the sha was read. Generated repositories get a dependabot.yml with the
# github-actions ecosystem, and Dependabot then moves these pins and their version comments
# forward there.
#
# snyk/actions is not pinned here. Its only tags are 0.1.0 to 0.4.0 (newest from
# 2023-05-24, with commits on master after it), and its actions run the floating
# `docker://snyk/snyk:<variant>` image, so a commit pin would not fix the Snyk CLI version.
ACTION_PINS: dict[str, ActionPin] = {
    pin.repository: pin
    for pin in (
        ActionPin("actions/checkout", "3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
        ActionPin("actions/setup-node", "820762786026740c76f36085b0efc47a31fe5020", "v7.0.0"),
        ActionPin("actions/setup-python", "5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
        ActionPin("actions/setup-go", "b7ad1dad31e06c5925ef5d2fc7ad053ef454303e", "v7.0.0"),
        ActionPin("actions/cache", "27d5ce7f107fe9357f9df03efb73ab90386fccae", "v5.0.5"),
        # NOTE: github/codeql-action workflows pin a newer v7.0.1 (043fb46d...). That tag
        # is not yet verified, so this pin stays at v7.0.0.
        ActionPin("actions/upload-artifact", "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"),
        # NOTE: github/codeql-action workflows pin a newer v3.2.0 (bcd2ba49...). That tag
        # is not yet verified, so this pin stays at v3.1.1.
        ActionPin(
            "actions/create-github-app-token",
            "1b10c78c7865c340bc4f6099eb2f838309f1e8c3",
            "v3.1.1",
        ),
        ActionPin("github/codeql-action", "8aad20d150bbac5944a9f9d289da16a4b0d87c1e", "v4.36.2"),
        ActionPin(
            "cloudflare/wrangler-action", "ebbaa1584979971c8614a24965b4405ff95890e0", "v4.0.0"
        ),
        ActionPin(
            "peter-evans/create-pull-request",
            "5f6978faf089d4d20b00c7766989d076bb2fc7f1",
            "v8.1.1",
        ),
        # NOTE: v4.0.0 (2024-05-07) runs on node20 and is not the newest release, because a
        # Dependabot branch of actions/setup-node pins v6.0.10 (0977fd99...). That tag is
        # not yet verified.
        ActionPin("pnpm/action-setup", "fe02b34f77f8bc703788d5817da081398fad5dd2", "v4.0.0"),
    )
}


def action_ref(name: str) -> str:
    """Return the pinned `uses:` value for an action such as `actions/checkout`.

    The first two path segments of `name` select the pin, and any further segments name
    an action inside that repository, as in `github/codeql-action/upload-sarif`.

    Raises:
        KeyError: `name` is not an action from `ACTION_PINS`.
    """
    segments = name.strip("/").split("/")
    repository = "/".join(segments[:2])
    pin = ACTION_PINS.get(repository) if len(segments) >= 2 else None
    if pin is None:
        known = ", ".join(sorted(ACTION_PINS))
        raise KeyError(
            f"no pinned action for {name!r}: add it to ACTION_PINS in chitty_cicd/pins.py "
            f"or use one of {known}"
        )
    return pin.uses("/".join(segments[2:]))
