"""Tests for the pinned GitHub Actions table and its `uses:` values."""

from __future__ import annotations

import re

import pytest

from chitty_cicd.pins import ACTION_PINS, ActionPin, action_ref

EXPECTED_ACTIONS = {
    "actions/checkout",
    "actions/setup-node",
    "actions/setup-python",
    "actions/setup-go",
    "actions/cache",
    "actions/upload-artifact",
    "actions/create-github-app-token",
    "github/codeql-action",
    "cloudflare/wrangler-action",
    "peter-evans/create-pull-request",
    "pnpm/action-setup",
}


def test_table_lists_expected_actions():
    assert set(ACTION_PINS) == EXPECTED_ACTIONS


@pytest.mark.parametrize("key", sorted(ACTION_PINS))
def test_pin_key_matches_repository(key):
    assert ACTION_PINS[key].repository == key


@pytest.mark.parametrize("key", sorted(ACTION_PINS))
def test_pin_sha_is_full_commit_id(key):
    assert re.fullmatch(r"[0-9a-f]{40}", ACTION_PINS[key].sha), ACTION_PINS[key].sha


@pytest.mark.parametrize("key", sorted(ACTION_PINS))
def test_pin_version_is_full_release(key):
    assert re.fullmatch(r"v\d+\.\d+\.\d+", ACTION_PINS[key].version), ACTION_PINS[key].version


def test_pin_shas_are_distinct():
    shas = [pin.sha for pin in ACTION_PINS.values()]
    assert len(shas) == len(set(shas))


def test_action_ref_plain_action():
    pin = ACTION_PINS["actions/checkout"]

    ref = action_ref("actions/checkout")

    assert ref == f"actions/checkout@{pin.sha} # {pin.version}"
    assert re.fullmatch(r"actions/checkout@[0-9a-f]{40} # v\d+\.\d+\.\d+", ref)


def test_action_ref_sub_action():
    pin = ACTION_PINS["github/codeql-action"]

    ref = action_ref("github/codeql-action/upload-sarif")

    assert ref == f"github/codeql-action/upload-sarif@{pin.sha} # {pin.version}"
    assert ref == pin.uses("upload-sarif")


def test_uses_with_and_without_path():
    pin = ActionPin("owner/repo", "0123456789abcdef0123456789abcdef01234567", "v1.2.3")

    assert pin.uses() == "owner/repo@0123456789abcdef0123456789abcdef01234567 # v1.2.3"
    assert pin.uses("/nested/action/") == (
        "owner/repo/nested/action@0123456789abcdef0123456789abcdef01234567 # v1.2.3"
    )


@pytest.mark.parametrize(
    "name",
    ["actions/unknown", "unknown/checkout", "checkout", "", "snyk/actions/node"],
)
def test_action_ref_unknown_raises(name):
    with pytest.raises(KeyError) as excinfo:
        action_ref(name)

    message = str(excinfo.value)
    assert repr(name) in message
    assert "actions/checkout" in message
    assert "pnpm/action-setup" in message


@pytest.mark.parametrize(
    ("sha", "version"),
    [
        ("3D3C42E5AAC5BA805825DA76410C181273BA90B1", "v7.0.1"),
        ("3d3c42e", "v7.0.1"),
        ("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7"),
        ("3d3c42e5aac5ba805825da76410c181273ba90b1", "7.0.1"),
    ],
)
def test_action_pin_rejects_invalid(sha, version):
    with pytest.raises(ValueError):
        ActionPin("actions/checkout", sha, version)
