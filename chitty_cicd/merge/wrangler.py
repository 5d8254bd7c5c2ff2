"""Merge the ChittyBeacon settings into a Cloudflare Worker's Wrangler configuration.

BEACON_ENDPOINT goes under the top-level vars and under the vars of every environment that
defines its own, because Wrangler does not pass top-level vars to environments. A Worker
wired through the generated helper also gets the heartbeat Cron Trigger, at the top level
and in every environment that defines its own triggers. Values already set are kept.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import AoT, Array, InlineTable, Table

from chitty_cicd import jsonc
from chitty_cicd.beacon.node_project import (
    DEFAULT_ENDPOINT,
    DEFAULT_INTERVAL_MS,
    WRANGLER_CONFIGS,
    file_reader,
    find_wrangler_config,
    parse_toml,
    read_package_json,
    uses_workers_runtime,
)
from chitty_cicd.beacon.workers import beacon_cron
from chitty_cicd.edits import Plan
from chitty_cicd.errors import ChittyError

ENDPOINT_KEY = "BEACON_ENDPOINT"


def plan_wrangler(root: Path, answers: Mapping[str, Any], plan: Plan) -> None:
    """Plan BEACON_ENDPOINT (and the heartbeat cron for a Worker) in the Wrangler config."""
    if answers.get("deploy_target") != "cloudflare" or not answers.get("beacon_enabled"):
        return

    read = file_reader(root, plan)
    config_path = find_wrangler_config(read)
    if config_path is None:
        plan.notes.append(
            f"none of {', '.join(WRANGLER_CONFIGS)} found; add {ENDPOINT_KEY} under vars "
            "when you create the Wrangler configuration"
        )
        return
    endpoint = str(answers.get("beacon_endpoint") or DEFAULT_ENDPOINT)
    cron = None
    if answers.get("project_type") == "node" and uses_workers_runtime("cloudflare", read_package_json(read)):
        from chitty_cicd.beacon.node_entry import resolve_entry

        # The cron calls the wrapper's scheduled() handler, so only a wired Worker gets it.
        if resolve_entry(root, read, answers).path is not None:
            cron = beacon_cron(int(answers.get("beacon_interval_ms") or DEFAULT_INTERVAL_MS))

    text = read(config_path) or ""
    if config_path.endswith(".toml"):
        new_text = merge_wrangler_toml(text, config_path, endpoint, cron)
    else:
        new_text = merge_wrangler_json(text, config_path, endpoint, cron)
    if new_text != text:
        plan.write(config_path, new_text)

    ignored = [name for name in WRANGLER_CONFIGS if name != config_path and read(name) is not None]
    if ignored:
        plan.notes.append(
            f"Wrangler reads {config_path} and ignores {', '.join(ignored)}; delete the ignored "
            "files so nobody edits them by mistake"
        )


def merge_wrangler_toml(text: str, relpath: str, endpoint: str, cron: str | None) -> str:
    """Return wrangler.toml text with the beacon settings added; comments are kept."""
    document = parse_toml(text, relpath)
    _add_toml_key(document, "vars", ENDPOINT_KEY, endpoint, relpath, create=True)
    if cron is not None:
        _add_toml_cron(document, cron, relpath, create=True)

    environments = document.get("env")
    if isinstance(environments, (Table, InlineTable)):
        for name, section in environments.items():
            if not isinstance(section, (Table, InlineTable)):
                continue
            label = f"env.{name}"
            _add_toml_key(section, "vars", ENDPOINT_KEY, endpoint, relpath, create=False, label=label)
            if cron is not None:
                _add_toml_cron(section, cron, relpath, create=False, label=label)

    merged = tomlkit.dumps(document)
    if "\r\n" in text and "\n" not in text.replace("\r\n", ""):
        merged = re.sub(r"(?<!\r)\n", "\r\n", merged)  # tomlkit writes "\n" for new lines
    return merged


def _add_toml_key(
    container: Any, table: str, key: str, value: str, relpath: str, *, create: bool, label: str = ""
) -> None:
    name = f"{label}.{table}" if label else table
    section = container.get(table)
    if section is None:
        if create:
            new_table = tomlkit.table()
            new_table.add(key, value)
            container.add(table, new_table)
        return
    if not isinstance(section, (Table, InlineTable)):
        raise ChittyError(
            f"{name} is {_toml_type_name(section)}, not a table; make it a [{name}] table and run again",
            path=relpath,
        )
    if key not in section:
        section[key] = value


def _toml_type_name(item: Any) -> str:
    if isinstance(item, AoT):
        return "an array of tables"
    return f"a {type(item).__name__.lower()}"


def _add_toml_cron(container: Any, cron: str, relpath: str, *, create: bool, label: str = "") -> None:
    name = f"{label}.triggers" if label else "triggers"
    triggers = container.get("triggers")
    if triggers is None:
        if create:
            new_table = tomlkit.table()
            new_table.add("crons", [cron])
            container.add("triggers", new_table)
        return
    if isinstance(triggers, AoT) or not isinstance(triggers, (Table, InlineTable)):
        raise ChittyError(f"{name} is not a table; fix it and run again", path=relpath)
    crons = triggers.get("crons")
    if crons is None:
        triggers["crons"] = [cron]
    elif not isinstance(crons, Array):
        raise ChittyError(f"{name}.crons is not an array; fix it and run again", path=relpath)
    elif cron not in crons:
        crons.append(cron)


def merge_wrangler_json(text: str, relpath: str, endpoint: str, cron: str | None) -> str:
    """Return wrangler.json(c) text with the beacon settings added; comments are kept."""
    value = jsonc.load(text, relpath, comments=True)
    if not isinstance(value, dict):
        raise ChittyError(
            "does not contain a JSON object at the top level; fix the file and run again",
            path=relpath,
        )
    environments = value.get("env")
    if not isinstance(environments, dict):
        environments = {}

    text = _add_json_key(text, relpath, ("vars",), ENDPOINT_KEY, endpoint, create=True)
    if cron is not None:
        text = _add_json_cron(text, relpath, ("triggers",), cron, create=True)
    for name, section in environments.items():
        if isinstance(section, dict):
            text = _add_json_key(text, relpath, ("env", name, "vars"), ENDPOINT_KEY, endpoint)
            if cron is not None:
                text = _add_json_cron(text, relpath, ("env", name, "triggers"), cron)
    return text


def _add_json_key(
    text: str, relpath: str, path: tuple[str, ...], key: str, value: Any, *, create: bool = False
) -> str:
    _, tree = jsonc.parse_tree(text, relpath, comments=True)
    parent = _json_object_at(tree, path[:-1], relpath)
    section = parent.get(path[-1])
    if section is None:
        return jsonc.add_member(text, parent, path[-1], {key: value}) if create else text
    if section.kind != "object":
        raise ChittyError(f'"{".".join(path)}" is not an object; fix it and run again', path=relpath)
    if key in section.keys:
        return text
    return jsonc.add_member(text, section, key, value)


def _add_json_cron(text: str, relpath: str, path: tuple[str, ...], cron: str, *, create: bool = False) -> str:
    _, tree = jsonc.parse_tree(text, relpath, comments=True)
    triggers = _json_object_at(tree, path[:-1], relpath).get(path[-1])
    if triggers is None:
        if not create:
            return text
        return _add_json_key(text, relpath, path, "crons", [cron], create=True)
    if triggers.kind != "object":
        raise ChittyError(f'"{".".join(path)}" is not an object; fix it and run again', path=relpath)
    crons = triggers.get("crons")
    if crons is None:
        return jsonc.add_member(text, triggers, "crons", [cron])
    if crons.kind != "array":
        raise ChittyError(f'"{".".join(path)}.crons" is not an array; fix it and run again', path=relpath)
    existing = jsonc.load(text[crons.start : crons.end], relpath, comments=True)
    return text if cron in existing else jsonc.add_item(text, crons, cron)


def _json_object_at(tree: jsonc.Node, path: tuple[str, ...], relpath: str) -> jsonc.Node:
    node = tree
    for part in path:
        child = node.get(part)
        if child is None or child.kind != "object":
            raise ChittyError(f'"{part}" is not an object; fix it and run again', path=relpath)
        node = child
    return node
