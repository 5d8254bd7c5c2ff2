"""Merge BEACON_ENDPOINT into the env of an existing vercel.json.

Vercel lists vercel.json's `env` as a legacy property and recommends project environment
variables instead; it still passes `env` to the deployment's functions. So an existing
vercel.json gets a plain BEACON_ENDPOINT value, and no vercel.json is created for it.
A value such as `@beacon-endpoint` names a Vercel Secret, a feature Vercel has retired,
so such a value is kept and reported, never written.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chitty_cicd import jsonc
from chitty_cicd.beacon.node_project import DEFAULT_ENDPOINT
from chitty_cicd.edits import Plan
from chitty_cicd.errors import ChittyError

VERCEL_JSON = "vercel.json"
ENDPOINT_KEY = "BEACON_ENDPOINT"


def plan_vercel(root: Path, answers: Mapping[str, Any], plan: Plan) -> None:
    """Plan env.BEACON_ENDPOINT in vercel.json when the file exists; keep a value set."""
    if answers.get("deploy_target") != "vercel" or not answers.get("beacon_enabled"):
        return
    endpoint = str(answers.get("beacon_endpoint") or DEFAULT_ENDPOINT)

    text = plan.current(root, VERCEL_JSON)
    if text is None:
        plan.notes.append(
            f"no vercel.json, so {ENDPOINT_KEY} is not set there and the beacon uses its "
            f"default endpoint; to use {endpoint}, run `vercel env add {ENDPOINT_KEY} "
            "production` and enter it"
        )
        return

    new_text, current = merge_vercel_json(text, endpoint)
    if new_text != text:
        plan.write(VERCEL_JSON, new_text)
    if current is not None and current.startswith("@"):
        plan.notes.append(
            f"vercel.json env.{ENDPOINT_KEY} is {current!r}, a reference to a Vercel Secret, "
            f"which Vercel has retired; replace it with a plain value such as {endpoint!r}"
        )


def merge_vercel_json(text: str, endpoint: str) -> tuple[str, str | None]:
    """Return vercel.json text with env.BEACON_ENDPOINT, and the value it already had."""
    value, tree = jsonc.parse_tree(text, VERCEL_JSON, comments=False)
    if not isinstance(value, dict):
        raise ChittyError(
            "does not contain a JSON object at the top level; fix the JSON and run again",
            path=VERCEL_JSON,
        )
    if "env" not in value:
        return jsonc.add_member(text, tree, "env", {ENDPOINT_KEY: endpoint}), None
    env = value["env"]
    if not isinstance(env, dict):
        raise ChittyError(
            f'"env" is {jsonc.type_name(env)}, not an object of variable names and values; '
            "fix the JSON and run again",
            path=VERCEL_JSON,
        )
    if ENDPOINT_KEY in env:
        return text, str(env[ENDPOINT_KEY])
    env_node = tree.get("env")
    assert env_node is not None
    return jsonc.add_member(text, env_node, ENDPOINT_KEY, endpoint), None
