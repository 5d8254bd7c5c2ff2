"""Tests of the Node.js beacon wiring: import placement, Next.js hook, Workers helper.

Edited JavaScript is checked with `node --check`. Edited TypeScript is checked with the
TypeScript compiler, which npm installs once per machine into a cache directory; the tests
that need it are skipped when npm cannot install it. The generated Workers helper runs
under Node.js with a stub fetch(), and wrapping a Hono app runs in workerd through
Miniflare, which npm installs the same way.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from chitty_cicd.beacon import js_source, nextjs, workers
from chitty_cicd.beacon.node_entry import plan_node_beacon
from chitty_cicd.beacon.node_project import BEACON_PACKAGE
from chitty_cicd.edits import Plan, apply_plan
from chitty_cicd.errors import ChittyError
from chitty_cicd.merge.package_json import plan_package_json
from chitty_cicd.merge.vercel import plan_vercel
from chitty_cicd.merge.wrangler import plan_wrangler

FIXTURES = Path(__file__).parent / "fixtures"
NODE = shutil.which("node")
NPM = shutil.which("npm")
TOOLS_DIR = Path(os.environ.get("CHITTY_TEST_NODE_TOOLS", Path.home() / ".cache" / "chitty-cicd-tests"))
TOOL_PACKAGES = {"typescript": "5", "@cloudflare/workers-types": "4"}
# Installed under their own prefix, because `npm install --no-save` removes the packages
# of an earlier --no-save install under the same prefix.
RUNTIME_DIR = TOOLS_DIR / "workers-runtime"
RUNTIME_PACKAGES = {"miniflare": "4", "esbuild": "0", "hono": "4"}
ANSWERS = {
    "project_name": "orders-api",
    "project_type": "node",
    "deploy_target": "none",
    "package_manager": "npm",
    "beacon_enabled": True,
    "beacon_endpoint": "https://beacon.cloudeto.com",
    "beacon_interval_ms": 300000,
    "beacon_entry": "",
}
CJS = "require('@chittycorp/app-beacon');"
ESM = "import '@chittycorp/app-beacon';"

needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")

TS_CHECK_SCRIPT = r"""
const fs = require('fs');
const ts = require('typescript');
const [mode, ...files] = process.argv.slice(2);
const errors = [];
function describe(diagnostic) {
  const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
  if (!diagnostic.file) return text;
  const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
  return `${diagnostic.file.fileName}:${line + 1}: ${text}`;
}
if (mode === 'parse') {
  for (const file of files) {
    const output = ts.transpileModule(fs.readFileSync(file, 'utf8'), {
      fileName: file,
      reportDiagnostics: true,
      compilerOptions: { jsx: ts.JsxEmit.Preserve, target: ts.ScriptTarget.ES2022 },
    });
    for (const diagnostic of output.diagnostics) errors.push(`${file}: ${describe(diagnostic)}`);
  }
} else {
  const program = ts.createProgram(files, {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts'],
    types: [],
  });
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) errors.push(describe(diagnostic));
}
process.stdout.write(JSON.stringify(errors));
"""

HELPER_BEHAVIOUR_SCRIPT = r"""
const sent = [];
globalThis.fetch = async (url, init) => {
  sent.push({ url, body: JSON.parse(init.body) });
  return new Response(null);
};
const results = {};
const waits = [];
const ctx = { waitUntil: (promise) => waits.push(promise) };
const settle = async () => { await Promise.all(waits.splice(0)); };

const first = await import('./chittybeacon.mjs?object');
const calls = [];
const handler = {
  async fetch(request, env) { calls.push(['fetch', this === handler]); return new Response('ok'); },
  async scheduled(controller) { calls.push(['scheduled', controller.cron]); },
  async queue(batch) { calls.push(['queue', batch.length]); },
};
const worker = first.withBeacon(handler);
const env = {};
results.body = await (await worker.fetch(new Request('https://app.test/'), env, ctx)).text();
await worker.fetch(new Request('https://app.test/'), env, ctx);
await settle();
results.afterFetch = sent.splice(0);
await worker.scheduled({ cron: first.BEACON_CRON }, env, ctx);
await settle();
results.afterBeaconCron = sent.splice(0);
await worker.scheduled({ cron: '0 3 * * *' }, env, ctx);
await worker.queue([1, 2]);
await settle();
results.afterOwnCron = sent.splice(0);
results.calls = calls;
await worker.scheduled({ cron: first.BEACON_CRON }, { BEACON_ENDPOINT: 'https://relay.test', BEACON_DISABLED: 'false' }, ctx);
await worker.scheduled({ cron: first.BEACON_CRON }, { BEACON_DISABLED: 'true' }, ctx);
await settle();
results.overrides = sent.splice(0);
results.handlerNames = Object.keys(worker).sort();

const second = await import('./chittybeacon.mjs?class');
class Entrypoint {
  constructor(ctx, env) { this.ctx = ctx; this.env = env; }
  async fetch(request) { return new Response('from class'); }
}
const Wrapped = second.withBeacon(Entrypoint);
const instance = new Wrapped(ctx, {});
results.classBody = await (await instance.fetch(new Request('https://app.test/'))).text();
await instance.scheduled({ cron: second.BEACON_CRON });
await settle();
results.classSent = sent.splice(0).map((entry) => entry.body.event);
results.classIsSubclass = instance instanceof Entrypoint;
process.stdout.write(JSON.stringify(results));
"""


# Run under Node.js with a stub fetch(). Each import with a new query string gets a fresh
# module, so that each case sends its own startup event.
KEPT_MEMBERS_SCRIPT = r"""
import { Hono } from 'hono';
const sent = [];
globalThis.fetch = async (url, init) => {
  sent.push({ url, body: JSON.parse(init.body) });
  return new Response(null);
};
const waits = [];
const ctx = { waitUntil: (promise) => waits.push(promise) };
const settle = async () => { await Promise.all(waits.splice(0)); };
const events = () => sent.splice(0).map((entry) => entry.body.event);
const results = {};

const hono = await import('./chittybeacon.mjs?hono');
const app = new Hono();
app.get('/', (c) => c.text('home'));
const wrapped = hono.withBeacon(app);
wrapped.get('/added', (c) => c.text('added through the wrapper'));
wrapped.route('/api', new Hono().get('/items', (c) => c.json([1, 2])));
results.honoRequest = await (await wrapped.request('/')).text();
results.honoAdded = await (await wrapped.request('/added')).text();
results.honoRouted = await (await wrapped.request('/api/items')).json();
results.honoInstance = wrapped instanceof Hono;
results.honoSameMethod = wrapped.get === wrapped.get;
await settle();
results.honoSentByRequest = events();
results.honoFetch = await (await wrapped.fetch(new Request('https://app.test/added'), {}, ctx)).text();
await wrapped.scheduled({ cron: hono.BEACON_CRON }, {}, ctx);
await settle();
results.honoSentByHandlers = events();
results.honoHas = ['fetch' in wrapped, 'scheduled' in wrapped, 'request' in wrapped];

const plainModule = await import('./chittybeacon.mjs?plain');
const plain = {
  version: 3,
  describe() { return `v${this.version}`; },
  fetch() { return new Response(this.describe()); },
};
const wrappedPlain = plainModule.withBeacon(plain);
results.plainDescribe = wrappedPlain.describe();
wrappedPlain.version = 4;
results.plainWritten = plain.version;
results.plainWithoutContext = await (await wrappedPlain.fetch(new Request('https://app.test/'))).text();
await settle();
results.plainSentWithoutContext = events();
results.plainFetch = await (await wrappedPlain.fetch(new Request('https://app.test/'), {}, ctx)).text();
await settle();
results.plainSent = events();

const privateModule = await import('./chittybeacon.mjs?private');
class Router {
  #routes = new Map([['/', 'root route']]);
  lookup(path) { return this.#routes.get(path); }
  fetch(request) { return new Response(this.lookup(new URL(request.url).pathname)); }
}
const wrappedRouter = privateModule.withBeacon(new Router());
results.privateLookup = wrappedRouter.lookup('/');
results.privateFetch = await (await wrappedRouter.fetch(new Request('https://app.test/'), {}, ctx)).text();
await settle();
results.privateSent = events();

const frozenModule = await import('./chittybeacon.mjs?frozen');
const frozen = Object.freeze({ label: 'frozen', fetch() { return new Response(this.label); } });
const wrappedFrozen = frozenModule.withBeacon(frozen);
results.frozenLabel = wrappedFrozen.label;
results.frozenFetch = await (await wrappedFrozen.fetch(new Request('https://app.test/'), {}, ctx)).text();
await settle();
results.frozenSent = events();

const classModule = await import('./chittybeacon.mjs?class');
class Api {
  static kind = 'rpc';
  #secret = 5;
  constructor(ctx, env) { this.ctx = ctx; this.env = env; }
  add(a, b) { return a + b + this.#secret; }
  async fetch() { return new Response('from class'); }
}
const WrappedApi = classModule.withBeacon(Api);
const instance = new WrappedApi(ctx, {});
results.classStatic = WrappedApi.kind;
results.classAdd = instance.add(1, 2);

const settingsModule = await import('./chittybeacon.mjs?settings');
const handler = settingsModule.withBeacon({ fetch() { return new Response('ok'); } });
const heartbeat = (env) => handler.scheduled({ cron: settingsModule.BEACON_CRON }, env, ctx);
process.env.BEACON_DISABLED = 'true';
await heartbeat({});
delete process.env.BEACON_DISABLED;
await heartbeat({ BEACON_DISABLED: true });
await heartbeat({ BEACON_DISABLED: 'YES' });
await settle();
results.disabledSent = events();
process.env.BEACON_ENDPOINT = 'https://from-process.test/';
await heartbeat({});
await heartbeat({ BEACON_ENDPOINT: 'https://from-binding.test' });
await settle();
results.endpoints = sent.splice(0).map((entry) => entry.url);
process.stdout.write(JSON.stringify(results));
"""

# Run under Node.js. It starts a local beacon endpoint, then a bundled Hono Worker in workerd.
WORKERD_SCRIPT = r"""
import http from 'node:http';
import { createRequire } from 'node:module';
const [runtime, bundle] = process.argv.slice(2);
const require = createRequire(`${runtime}/`);
const { Miniflare } = require('miniflare');
const events = [];
const server = http.createServer((request, response) => {
  let body = '';
  request.on('data', (chunk) => { body += chunk; });
  request.on('end', () => { events.push(JSON.parse(body).event); response.end(); });
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const endpoint = `http://127.0.0.1:${server.address().port}`;
const results = {};
for (const [name, bindings] of [['enabled', {}], ['disabled', { BEACON_DISABLED: 'true' }]]) {
  const mf = new Miniflare({
    modules: true,
    scriptPath: bundle,
    compatibilityDate: '2025-01-01',
    bindings: { BEACON_ENDPOINT: endpoint, ...bindings },
  });
  try {
    const home = await mf.dispatchFetch('http://app.test/');
    const routed = await mf.dispatchFetch('http://app.test/api/items');
    const worker = await mf.getWorker();
    const scheduled = await worker.scheduled({ cron: '*/5 * * */1 *' });
    results[name] = {
      home: await home.text(),
      routed: await routed.text(),
      scheduled: scheduled.outcome,
    };
  } finally {
    await mf.dispose();
  }
  // waitUntil() promises finish before dispose() returns, so every event has arrived.
  results[name].events = events.splice(0);
}
server.close();
process.stdout.write(JSON.stringify(results));
"""

HONO_WORKER = """\
import { Hono } from 'hono';
import { withBeacon } from './chittybeacon';

const app = new Hono();
app.get('/', (c) => c.text('home'));
app.route('/api', new Hono().get('/items', (c) => c.json([1, 2])));

export default withBeacon(app);
"""


def copy_fixture(name: str, tmp_path: Path) -> Path:
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root)
    return root


def run_steps(root: Path, **overrides: object) -> tuple[Plan, list[str]]:
    """Run the Node.js steps in the order tasks.py runs them; write only if all succeed."""
    answers = {**ANSWERS, **overrides}
    plan = Plan()
    for step in (plan_package_json, plan_node_beacon, plan_wrangler, plan_vercel):
        step(root, answers, plan)
    return plan, apply_plan(root, plan)


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def node_check(path: Path) -> None:
    """Assert that node parses path (module type from the nearest package.json)."""
    assert NODE is not None
    result = subprocess.run([NODE, "--check", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="session")
def typescript() -> Path:
    """Install typescript@5 and the Workers types once into the tools directory; return the
    checker script."""
    if NODE is None or NPM is None:
        pytest.skip("node and npm are needed for the TypeScript checks")
    problem = npm_install(TOOLS_DIR, TOOL_PACKAGES)
    if problem:
        pytest.skip(f"npm could not install the TypeScript tools: {problem}")
    script = TOOLS_DIR / "ts-check.cjs"
    script.write_text(TS_CHECK_SCRIPT)
    return script


@pytest.fixture(scope="session")
def workers_runtime() -> Path:
    """Install Miniflare (with workerd), esbuild and Hono once; return their node_modules."""
    if NODE is None or NPM is None:
        pytest.skip("node and npm are needed to run a Worker in workerd")
    problem = npm_install(RUNTIME_DIR, RUNTIME_PACKAGES)
    if problem:
        pytest.skip(f"npm could not install Miniflare, esbuild and Hono: {problem}")
    return RUNTIME_DIR / "node_modules"


def npm_install(prefix: Path, packages: dict[str, str]) -> str:
    """Install packages (name to version range) under prefix unless they are present.

    Return npm's error output, or "" on success.
    """
    assert NPM is not None
    if all((prefix / "node_modules" / name).is_dir() for name in packages):
        return ""
    prefix.mkdir(parents=True, exist_ok=True)
    install = subprocess.run(
        [NPM, "install", "--no-audit", "--no-fund", "--no-save", "--prefix", str(prefix),
         *(f"{name}@{version}" for name, version in packages.items())],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )  # fmt: skip
    return install.stderr.strip()[-300:] if install.returncode != 0 else ""


def node_env() -> dict[str, str]:
    """Return this process's environment without BEACON_* variables, which the helper reads."""
    return {name: value for name, value in os.environ.items() if not name.startswith("BEACON_")}


def workers_types(script: Path) -> Path:
    """Return the declarations of the Workers runtime (fetch, ExportedHandler, KVNamespace)."""
    return script.parent / "node_modules" / "@cloudflare" / "workers-types" / "index.d.ts"


def typescript_errors(script: Path, mode: str, *files: Path) -> list[str]:
    """Return the compiler's messages: syntax only ("parse") or strict types ("types")."""
    assert NODE is not None
    result = subprocess.run(
        [NODE, str(script), mode, *map(str, files)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


def transpile_helper(script: Path, source: Path, target: Path) -> None:
    """Compile the TypeScript helper to an ES module that Node.js can run."""
    assert NODE is not None
    code = (
        "const ts = require(process.argv[1]);"
        "const fs = require('fs');"
        "const out = ts.transpileModule(fs.readFileSync(process.argv[2], 'utf8'),"
        " { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });"
        "fs.writeFileSync(process.argv[3], out.outputText);"
    )
    subprocess.run(
        [NODE, "-e", code, str(script.parent / "node_modules" / "typescript"), str(source), str(target)],
        check=True,
    )


# Import placement in a single module.


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            "#!/usr/bin/env node\nmain();\n", f"#!/usr/bin/env node\n{CJS}\nmain();\n", id="shebang"
        ),
        pytest.param(
            "'use strict';\n\nconst a = 1;\n", f"'use strict';\n\n{CJS}\nconst a = 1;\n", id="use-strict"
        ),
        pytest.param(
            "#!/usr/bin/env node\n'use strict'\nconst a = 1\n",
            "#!/usr/bin/env node\n'use strict'\nrequire('@chittycorp/app-beacon')\nconst a = 1\n",
            id="shebang-directive-no-semicolons",
        ),
        pytest.param(
            '"use server";\nexport async function save() {}\n',
            f'"use server";\n{ESM}\nexport async function save() {{}}\n',
            id="use-server",
        ),
        pytest.param(
            '/// <reference types="node" />\n/// <reference path="./globals.d.ts" />\nimport x from \'x\';\n',
            f'/// <reference types="node" />\n/// <reference path="./globals.d.ts" />\n{ESM}\nimport x from \'x\';\n',
            id="triple-slash",
        ),
        pytest.param(
            "/*!\n * orders-api v1.0.0\n * (c) ChittyCorp, MIT Licensed\n */\nconst a = 1;\n",
            f"/*!\n * orders-api v1.0.0\n * (c) ChittyCorp, MIT Licensed\n */\n{CJS}\nconst a = 1;\n",
            id="preserved-licence-block",
        ),
        pytest.param(
            "/**\n * @license Apache-2.0\n */\nconst a = 1;\n",
            f"/**\n * @license Apache-2.0\n */\n{CJS}\nconst a = 1;\n",
            id="license-tag",
        ),
        pytest.param("// @ts-check\nconst a = 1;\n", f"// @ts-check\n{CJS}\nconst a = 1;\n", id="ts-check"),
        pytest.param(
            "/** @jsxImportSource preact */\nimport { h } from 'preact';\n",
            f"/** @jsxImportSource preact */\n{ESM}\nimport {{ h }} from 'preact';\n",
            id="jsx-pragma",
        ),
        pytest.param(
            "/* eslint-disable no-console */\nconsole.log(1);\n",
            f"/* eslint-disable no-console */\n{CJS}\nconsole.log(1);\n",
            id="eslint-directive",
        ),
        pytest.param("// @flow\nconst a = 1;\n", f"// @flow\n{CJS}\nconst a = 1;\n", id="flow"),
        pytest.param(
            "// Load settings before anything reads them\nrequire('dotenv').config();\n",
            f"{CJS}\n// Load settings before anything reads them\nrequire('dotenv').config();\n",
            id="attached-comment-stays-with-its-statement",
        ),
        pytest.param(
            "/** Starts the HTTP server. */\nexport function start() {}\n",
            f"{ESM}\n/** Starts the HTTP server. */\nexport function start() {{}}\n",
            id="attached-jsdoc-stays-with-its-statement",
        ),
        pytest.param(
            "// orders-api entry point\n\nconst a = 1;\n",
            f"// orders-api entry point\n\n{CJS}\nconst a = 1;\n",
            id="header-comment-then-blank-line",
        ),
        pytest.param(
            "'use strict';\r\nconst a = require('a');\r\n",
            f"'use strict';\r\n{CJS}\r\nconst a = require('a');\r\n",
            id="crlf",
        ),
        pytest.param("\ufeffconst a = 1;\n", f"\ufeff{CJS}\nconst a = 1;\n", id="byte-order-mark"),
        pytest.param("'use strict';", f"'use strict';\n{CJS}", id="no-final-newline"),
        pytest.param("", f"{CJS}\n", id="empty-file"),
        pytest.param(
            'const express = require("express")\n',
            'require("@chittycorp/app-beacon")\nconst express = require("express")\n',
            id="double-quotes-no-semicolons",
        ),
        pytest.param(
            "// require('@chittycorp/app-beacon');\nconst a = 1;\n",
            f"{CJS}\n// require('@chittycorp/app-beacon');\nconst a = 1;\n",
            id="commented-out-import-does-not-count",
        ),
    ],
)
def test_add_side_effect_import_placement(before: str, after: str) -> None:
    system = "esm" if re.search(r"^import ['\"]@chittycorp", after, re.MULTILINE) else "cjs"

    assert js_source.add_side_effect_import(before, BEACON_PACKAGE, system) == after


@pytest.mark.parametrize(
    "text",
    [
        "import '@chittycorp/app-beacon';\n",
        'import "@chittycorp/app-beacon"\n',
        "const beacon = require('@chittycorp/app-beacon');\n",
        "import beacon from '@chittycorp/app-beacon';\n",
        "await import('@chittycorp/app-beacon');\n",
        "require('@chittycorp/app-beacon/register');\n",
    ],
)
def test_add_side_effect_import_present_unchanged(text: str) -> None:
    assert js_source.add_side_effect_import(text, BEACON_PACKAGE, "esm") == text


@pytest.mark.parametrize(
    ("relpath", "text", "package_type", "expected"),
    [
        ("server.mjs", "", None, "esm"),
        ("server.cjs", "", "module", "cjs"),
        ("src/index.ts", "const a = require('a');\n", None, "esm"),
        ("src/index.tsx", "", None, "esm"),
        ("src/index.mts", "", None, "esm"),
        ("src/index.cts", "", None, "esm"),
        ("server.js", "", "module", "esm"),
        ("server.js", "import http from 'node:http';\n", None, "esm"),
        ("server.js", "export default {};\n", "commonjs", "esm"),
        ("server.js", "const http = require('http');\n", None, "cjs"),
        ("bin/www", "#!/usr/bin/env node\nvar app = require('../app');\n", None, "cjs"),
        ("server.js", "const load = () => import('./lazy.js');\n", None, "cjs"),
    ],
)
def test_detect_module_system(relpath: str, text: str, package_type: str | None, expected: str) -> None:
    assert js_source.detect_module_system(relpath, text, package_type) == expected


@needs_node
@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("server.cjs", "#!/usr/bin/env node\n'use strict';\n/** Server. */\nconst http = require('http');\n"),
        (
            "server.mjs",
            "// @ts-check\n\"use strict\";\nimport http from 'node:http';\nexport default http;\n",
        ),
        ("server.js", "/*!\n * (c) ChittyCorp\n */\n'use strict'\nmodule.exports = 1\n"),
    ],
)
def test_edited_javascript_passes_node_check(tmp_path: Path, name: str, text: str) -> None:
    system = js_source.detect_module_system(name, text, None)
    path = tmp_path / name
    path.write_text(js_source.add_side_effect_import(text, BEACON_PACKAGE, system))

    node_check(path)


def test_edited_typescript_parses(tmp_path: Path, typescript: Path) -> None:
    sources = {
        "component.tsx": '"use client";\nimport { useState } from "react";\n\n'
        "export function Counter(): JSX.Element {\n  const [n] = useState(0);\n  return <b>{n}</b>;\n}\n",
        "server.ts": '/// <reference types="node" />\n// @ts-nocheck\n'
        "import type { Server } from 'node:http';\nexport let server: Server | undefined;\n",
    }
    paths = []
    for name, text in sources.items():
        path = tmp_path / name
        path.write_text(js_source.add_side_effect_import(text, BEACON_PACKAGE, "esm"))
        paths.append(path)

    assert typescript_errors(typescript, "parse", *paths) == []
    component = (tmp_path / "component.tsx").read_text()
    assert component.startswith('"use client";\nimport "@chittycorp/app-beacon";\n')


@needs_node
def test_side_effect_import_loads_beacon_first(tmp_path: Path) -> None:
    beacon = tmp_path / "node_modules" / "@chittycorp" / "app-beacon"
    beacon.mkdir(parents=True)
    (beacon / "package.json").write_text('{"name": "@chittycorp/app-beacon", "main": "index.js"}\n')
    (beacon / "index.js").write_text("console.log('beacon loaded');\n")
    cjs = tmp_path / "cjs"
    esm = tmp_path / "esm"
    cjs.mkdir()
    esm.mkdir()
    (esm / "package.json").write_text('{"type": "module"}\n')
    cjs_text = (
        "#!/usr/bin/env node\n'use strict';\n\nconst os = require('os');\nconsole.log('app started');\n"
    )
    esm_text = "import os from 'node:os';\nconsole.log('app started');\n"
    entries = {cjs / "server.js": cjs_text, esm / "server.js": esm_text}
    for path, text in entries.items():
        package_type = "module" if path.parent == esm else None
        system = js_source.detect_module_system(path.name, text, package_type)
        path.write_text(js_source.add_side_effect_import(text, BEACON_PACKAGE, system))

        result = subprocess.run([NODE, str(path)], capture_output=True, text=True, check=False)  # type: ignore[list-item]

        assert result.returncode == 0, result.stderr
        assert result.stdout == "beacon loaded\napp started\n"


# The step on repositories shaped like real ones.


@needs_node
def test_plan_node_beacon_express_generator(tmp_path: Path) -> None:
    root = copy_fixture("node_express_cjs", tmp_path)
    before = (root / "bin" / "www").read_text()

    _, written = run_steps(root)

    assert written == ["bin/www", "package.json"]
    assert (root / "bin" / "www").read_text() == before.replace(
        "\nvar app = require('../app');", f"\n{CJS}\nvar app = require('../app');"
    )
    assert (root / "app.js").read_text() == (FIXTURES / "node_express_cjs" / "app.js").read_text()
    node_check(root / "bin" / "www")


@needs_node
def test_plan_node_beacon_esm_module(tmp_path: Path) -> None:
    root = copy_fixture("node_esm_module", tmp_path)
    before = (root / "src" / "server.js").read_text()

    run_steps(root)

    assert (root / "src" / "server.js").read_text() == before.replace(
        '"use strict";\n\nimport express', '"use strict";\n\nimport "@chittycorp/app-beacon";\nimport express'
    )
    node_check(root / "src" / "server.js")


def test_plan_node_beacon_typescript_source_not_dist(tmp_path: Path, typescript: Path) -> None:
    root = copy_fixture("node_ts_dist", tmp_path)
    (root / "dist").mkdir()
    (root / "dist" / "index.js").write_text('"use strict";\nrequire("fastify");\n')

    _, written = run_steps(root)

    assert written == ["package.json", "src/index.ts"]
    assert (root / "src" / "index.ts").read_text() == (
        '/// <reference types="node" />\n/**\n * @license MIT\n * Copyright (c) 2024 ChittyCorp\n */\n\n'
        f"{ESM}\nimport Fastify from 'fastify';\n\nconst app = Fastify({{ logger: true }});\n\n"
        "app.get('/health', async () => ({ ok: true }));\n\n"
        "app.listen({ port: Number(process.env.PORT ?? 3000) });\n"
    )
    assert (root / "dist" / "index.js").read_text() == '"use strict";\nrequire("fastify");\n'
    assert typescript_errors(typescript, "parse", root / "src" / "index.ts") == []


@pytest.mark.parametrize(
    "fixture", ["node_express_cjs", "node_esm_module", "node_ts_dist", "node_next_app",
                "node_next_pages_src", "node_next_instrumentation", "node_vercel"],
)  # fmt: skip
def test_plan_node_beacon_second_run_same_bytes(tmp_path: Path, fixture: str) -> None:
    root = copy_fixture(fixture, tmp_path)
    deploy_target = "vercel" if fixture == "node_vercel" else "none"
    run_steps(root, deploy_target=deploy_target)
    first = snapshot(root)

    _, written = run_steps(root, deploy_target=deploy_target)

    assert written == []
    assert snapshot(root) == first


@pytest.mark.parametrize("fixture", ["node_worker_toml", "node_worker_jsonc"])
def test_plan_node_beacon_worker_second_run_same_bytes(tmp_path: Path, fixture: str) -> None:
    root = copy_fixture(fixture, tmp_path)
    run_steps(root, deploy_target="cloudflare")
    first = snapshot(root)

    _, written = run_steps(root, deploy_target="cloudflare")

    assert written == []
    assert snapshot(root) == first


def test_plan_node_beacon_skipped(tmp_path: Path) -> None:
    root = copy_fixture("node_express_cjs", tmp_path)
    before = snapshot(root)

    for overrides in ({"beacon_enabled": False}, {"project_type": "python"}):
        plan = Plan()
        plan_node_beacon(root, {**ANSWERS, **overrides}, plan)
        assert plan.writes == {}

    assert snapshot(root) == before


def test_plan_node_beacon_configured_entry(tmp_path: Path) -> None:
    root = copy_fixture("node_express_cjs", tmp_path)

    run_steps(root, beacon_entry="./app.js")

    assert (root / "app.js").read_text().startswith(f"{CJS}\nvar express = require('express');\n")
    assert CJS not in (root / "bin" / "www").read_text()


# Next.js: the instrumentation hook.


def test_plan_node_beacon_next_app_router_creates_hook(tmp_path: Path, typescript: Path) -> None:
    root = copy_fixture("node_next_app", tmp_path)

    plan, written = run_steps(root, deploy_target="vercel")

    assert written == ["instrumentation.ts", "package.json"]
    assert (root / "instrumentation.ts").read_text() == (
        "// Next.js calls register() once when a server starts. The beacon loads only in the\n"
        "// Node.js runtime, so it stays out of the Edge runtime and the browser.\n"
        "export async function register() {\n"
        "  if (process.env.NEXT_RUNTIME === 'nodejs') {\n"
        "    await import('@chittycorp/app-beacon');\n"
        "  }\n"
        "}\n"
    )
    assert not any("instrumentationHook" in note for note in plan.notes)
    assert typescript_errors(typescript, "parse", root / "instrumentation.ts") == []


@needs_node
def test_plan_node_beacon_next_pages_router_in_src(tmp_path: Path) -> None:
    root = copy_fixture("node_next_pages_src", tmp_path)

    plan, written = run_steps(root)

    assert written == ["package.json", "src/instrumentation.js"]
    assert (root / "src" / "instrumentation.js").read_text() == nextjs.new_instrumentation()
    assert (root / "src" / "pages" / "_app.js").read_text() == (
        FIXTURES / "node_next_pages_src" / "src" / "pages" / "_app.js"
    ).read_text()
    assert any("experimental: { instrumentationHook: true }" in note for note in plan.notes)
    node_check(root / "src" / "instrumentation.js")


def test_plan_node_beacon_next_merges_existing_hook(tmp_path: Path, typescript: Path) -> None:
    root = copy_fixture("node_next_instrumentation", tmp_path)

    _, written = run_steps(root)

    assert written == ["package.json", "src/instrumentation.ts"]
    assert (root / "src" / "instrumentation.ts").read_text() == (
        "import * as Sentry from '@sentry/nextjs';\n\n"
        "export async function register() {\n"
        "  if (process.env.NEXT_RUNTIME === 'nodejs') {\n"
        "    await import('@chittycorp/app-beacon');\n"
        "  }\n"
        "  if (process.env.NEXT_RUNTIME === 'nodejs') {\n"
        "    await import('../sentry.server.config');\n"
        "  }\n\n"
        "  if (process.env.NEXT_RUNTIME === 'edge') {\n"
        "    await import('../sentry.edge.config');\n"
        "  }\n"
        "}\n\n"
        "export const onRequestError = Sentry.captureRequestError;\n"
    )
    assert typescript_errors(typescript, "parse", root / "src" / "instrumentation.ts") == []


def test_plan_node_beacon_next_notes_ignored_root_hook(tmp_path: Path) -> None:
    root = copy_fixture("node_next_instrumentation", tmp_path)
    (root / "instrumentation.ts").write_text("export function register() {}\n")

    plan, _ = run_steps(root)

    assert "await import('@chittycorp/app-beacon')" in (root / "src" / "instrumentation.ts").read_text()
    assert (root / "instrumentation.ts").read_text() == "export function register() {}\n"
    assert any(note.startswith("Next.js ignores instrumentation.ts") for note in plan.notes)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            'import { registerOTel } from "@vercel/otel"\n\nexport function register() {\n    registerOTel("web")\n}\n',
            'import { registerOTel } from "@vercel/otel"\n\nexport async function register() {\n'
            '    if (process.env.NEXT_RUNTIME === "nodejs") {\n'
            '        await import("@chittycorp/app-beacon")\n    }\n    registerOTel("web")\n}\n',
            id="sync-function-made-async",
        ),
        pytest.param(
            "export function register(): void {\n  console.log('up');\n}\n",
            "export function register(): void {\n  if (process.env.NEXT_RUNTIME === 'nodejs') {\n"
            "    void import('@chittycorp/app-beacon');\n  }\n  console.log('up');\n}\n",
            id="typed-sync-function",
        ),
        pytest.param(
            "export const register = async () => {\r\n  await setup();\r\n};\r\n",
            "export const register = async () => {\r\n  if (process.env.NEXT_RUNTIME === 'nodejs') {\r\n"
            "    await import('@chittycorp/app-beacon');\r\n  }\r\n  await setup();\r\n};\r\n",
            id="arrow-function-crlf",
        ),
        pytest.param(
            "export async function register() {}\n",
            "export async function register() {\n  if (process.env.NEXT_RUNTIME === 'nodejs') {\n"
            "    await import('@chittycorp/app-beacon');\n  }\n}\n",
            id="empty-body",
        ),
        pytest.param(
            "export function onRequestError() {}",
            "export function onRequestError() {}\n\n" + nextjs.new_instrumentation(),
            id="no-register",
        ),
    ],
)
def test_add_beacon_to_register(before: str, after: str) -> None:
    assert nextjs.add_beacon_to_register(before, "instrumentation.ts") == after


def test_add_beacon_to_register_reexport_rejected() -> None:
    with pytest.raises(ChittyError) as error:
        nextjs.add_beacon_to_register("export { register } from './otel';\n", "instrumentation.ts")

    message = str(error.value)
    assert message.startswith("instrumentation.ts: exports register() in a form this tool cannot edit")
    assert "await import('@chittycorp/app-beacon');" in message


def test_plan_node_beacon_next_rejects_client_module(tmp_path: Path) -> None:
    root = copy_fixture("node_next_pages_src", tmp_path)
    before = snapshot(root)

    with pytest.raises(ChittyError) as error:
        run_steps(root, beacon_entry="src/pages/_app.js")

    assert "bundled for the browser" in str(error.value)
    assert snapshot(root) == before


# Cloudflare Workers: the generated helper and the wrapped default export.


def test_plan_node_beacon_worker_toml(tmp_path: Path, typescript: Path) -> None:
    root = copy_fixture("node_worker_toml", tmp_path)

    _, written = run_steps(root, deploy_target="cloudflare", project_name="edge-router")

    assert written == ["src/chittybeacon.ts", "src/index.ts", "wrangler.toml"]
    assert (root / "src" / "index.ts").read_text() == (
        "/**\n * Routes requests to the upstream service and caches its answers in KV.\n *\n"
        " * Run `npm run dev` to start a development server.\n */\n\n"
        "import { withBeacon } from './chittybeacon';\n"
        "export interface Env {\n\tCACHE: KVNamespace;\n\tLOG_LEVEL?: string;\n}\n\n"
        "const chittyWorker = {\n"
        "\tasync fetch(request, env, ctx): Promise<Response> {\n"
        "\t\tconst cached = await env.CACHE.get(new URL(request.url).pathname);\n"
        "\t\tif (cached !== null) {\n\t\t\treturn new Response(cached);\n\t\t}\n"
        "\t\treturn new Response('miss', { status: 404 });\n\t},\n"
        "} satisfies ExportedHandler<Env>;\n"
        "export default withBeacon(chittyWorker);\n"
    )
    helper = (root / "src" / "chittybeacon.ts").read_text()
    assert helper == workers.render_helper({**ANSWERS, "project_name": "edge-router"})
    assert 'const APP_NAME = "edge-router";' in helper
    assert 'export const BEACON_CRON = "*/5 * * */1 *";' in helper
    assert (root / "package.json").read_text() == (FIXTURES / "node_worker_toml" / "package.json").read_text()

    types = workers_types(typescript)
    assert typescript_errors(typescript, "types", root / "src" / "index.ts", types) == []


@needs_node
def test_plan_node_beacon_worker_jsonc_javascript(tmp_path: Path, typescript: Path) -> None:
    root = copy_fixture("node_worker_jsonc", tmp_path)

    _, written = run_steps(root, deploy_target="cloudflare")

    assert written == ["src/chittybeacon.ts", "src/worker.js", "wrangler.jsonc"]
    assert (root / "src" / "worker.js").read_text() == (
        "import { withBeacon } from './chittybeacon';\n"
        "import { buildReport } from './report.js';\n\n"
        "const chittyWorker = {\n"
        "\tasync fetch(request, env) {\n"
        "\t\treturn new Response(`report bucket: ${env.REPORT_BUCKET}`);\n\t},\n\n"
        "\tasync scheduled(controller, env, ctx) {\n\t\tctx.waitUntil(buildReport(env));\n\t},\n"
        "};\n"
        "export default withBeacon(chittyWorker);\n"
    )
    node_check(root / "src" / "worker.js")
    helper = root / "src" / "chittybeacon.ts"
    assert typescript_errors(typescript, "types", helper, workers_types(typescript)) == []


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            "import { Hono } from 'hono'\n\nconst app = new Hono()\n\nexport default app\n",
            "import { withBeacon } from './chittybeacon'\nimport { Hono } from 'hono'\n\n"
            "const app = new Hono()\n\nexport default withBeacon(app)\n",
            id="identifier",
        ),
        pytest.param(
            'import { WorkerEntrypoint } from "cloudflare:workers";\n\n'
            "export default class Api extends WorkerEntrypoint {\n  async fetch() {\n"
            '    return new Response("ok");\n  }\n}\n',
            'import { withBeacon } from "./chittybeacon";\nimport { WorkerEntrypoint } from "cloudflare:workers";\n\n'
            "class Api extends WorkerEntrypoint {\n  async fetch() {\n"
            '    return new Response("ok");\n  }\n}\nexport default withBeacon(Api);\n',
            id="named-class",
        ),
        pytest.param(
            "import { handle } from './handle.js';\n\nexport default { fetch: handle };",
            "import { withBeacon } from './chittybeacon.js';\nimport { handle } from './handle.js';\n\n"
            "const chittyWorker = { fetch: handle };\nexport default withBeacon(chittyWorker);",
            id="explicit-js-extensions-no-final-newline",
        ),
    ],
)
def test_wrap_default_export(before: str, after: str) -> None:
    relpath = "src/index.ts" if "chittybeacon.js" in after else "src/index.js"

    assert workers.wrap_default_export(before, relpath) == after


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("addEventListener('fetch', (event) => event.respondWith(new Response('x')));\n", "ES module syntax"),
        ("const app = {};\nexport { app as default };\n", "has no `export default` line"),
        ("export default {};\nexport default {};\n", "more than one line"),
        ("const chittyWorker = 1;\nexport default { fetch() {} };\n", "already uses the name chittyWorker"),
    ],
)
def test_wrap_default_export_rejected(text: str, message: str) -> None:
    with pytest.raises(ChittyError, match=message) as error:
        workers.wrap_default_export(text, "src/index.js")

    assert str(error.value).startswith("src/index.js: ")


def test_plan_node_beacon_worker_without_main_notes(tmp_path: Path) -> None:
    root = copy_fixture("node_worker_toml", tmp_path)
    config = root / "wrangler.toml"
    config.write_text(re.sub(r"^main = .*\n", "", config.read_text(), flags=re.MULTILINE))
    source = (root / "src" / "index.ts").read_text()

    plan, _ = run_steps(root, deploy_target="cloudflare")

    assert (root / "src" / "index.ts").read_text() == source
    assert not (root / "src" / "chittybeacon.ts").exists()
    assert any(
        note.startswith('ChittyBeacon not wired: wrangler.toml has no "main"')
        and note.endswith("--data beacon_entry=path/to/worker.ts)")
        for note in plan.notes
    )


def test_plan_node_beacon_worker_foreign_helper_rejected(tmp_path: Path) -> None:
    root = copy_fixture("node_worker_toml", tmp_path)
    (root / "src" / "chittybeacon.ts").write_text("export const mine = 1;\n")
    before = snapshot(root)

    with pytest.raises(ChittyError, match="was not generated by cicd-templates"):
        run_steps(root, deploy_target="cloudflare")

    assert snapshot(root) == before


@pytest.mark.parametrize(
    ("interval_ms", "cron"),
    [
        (300000, "*/5 * * */1 *"),
        (60000, "* * * */1 *"),
        (1000, "* * * */1 *"),
        (420000, "*/6 * * */1 *"),
        (3600000, "0 * * */1 *"),
        (5 * 3600000, "0 */4 * */1 *"),
        (86400000, "0 0 * */1 *"),
    ],
)
def test_beacon_cron(interval_ms: int, cron: str) -> None:
    assert workers.beacon_cron(interval_ms) == cron


def test_worker_helper_behaviour(tmp_path: Path, typescript: Path) -> None:
    source = tmp_path / "chittybeacon.ts"
    source.write_text(workers.render_helper({**ANSWERS, "project_name": "edge-router"}))
    transpile_helper(typescript, source, tmp_path / "chittybeacon.mjs")
    script = tmp_path / "behaviour.mjs"
    script.write_text(HELPER_BEHAVIOUR_SCRIPT)

    assert NODE is not None
    result = subprocess.run([NODE, str(script)], capture_output=True, text=True, check=False, env=node_env())

    assert result.returncode == 0, result.stderr
    results = json.loads(result.stdout)
    assert results["body"] == "ok"
    assert [(e["url"], e["body"]["event"], e["body"]["app"]) for e in results["afterFetch"]] == [
        ("https://beacon.cloudeto.com/track", "startup", "edge-router")
    ]
    assert [e["body"]["event"] for e in results["afterBeaconCron"]] == ["heartbeat"]
    assert results["afterOwnCron"] == []
    assert results["calls"] == [
        ["fetch", True],
        ["fetch", True],
        ["scheduled", "0 3 * * *"],
        ["queue", 2],
    ]
    assert [e["url"] for e in results["overrides"]] == ["https://relay.test/track"]
    assert results["handlerNames"] == ["fetch", "queue", "scheduled"]
    assert results["classBody"] == "from class"
    assert results["classSent"] == ["startup", "heartbeat"]
    assert results["classIsSubclass"] is True


def test_worker_helper_keeps_members(tmp_path: Path, typescript: Path, workers_runtime: Path) -> None:
    source = tmp_path / "chittybeacon.ts"
    source.write_text(workers.render_helper({**ANSWERS, "project_name": "edge-router"}))
    transpile_helper(typescript, source, tmp_path / "chittybeacon.mjs")
    (tmp_path / "node_modules").symlink_to(workers_runtime)
    script = tmp_path / "members.mjs"
    script.write_text(KEPT_MEMBERS_SCRIPT)

    assert NODE is not None
    result = subprocess.run([NODE, str(script)], capture_output=True, text=True, check=False, env=node_env())

    assert result.returncode == 0, result.stderr
    results = json.loads(result.stdout)
    assert results["honoRequest"] == "home"
    assert results["honoAdded"] == "added through the wrapper"
    assert results["honoRouted"] == [1, 2]
    assert results["honoInstance"] is True
    assert results["honoSameMethod"] is True
    assert results["honoSentByRequest"] == []
    assert results["honoFetch"] == "added through the wrapper"
    assert results["honoSentByHandlers"] == ["startup", "heartbeat"]
    assert results["honoHas"] == [True, True, True]
    assert results["plainDescribe"] == "v3"
    assert results["plainWritten"] == 4
    assert results["plainWithoutContext"] == "v4"
    assert results["plainSentWithoutContext"] == []
    assert results["plainFetch"] == "v4"
    assert results["plainSent"] == ["startup"]
    assert results["privateLookup"] == "root route"
    assert results["privateFetch"] == "root route"
    assert results["privateSent"] == ["startup"]
    assert results["frozenLabel"] == "frozen"
    assert results["frozenFetch"] == "frozen"
    assert results["frozenSent"] == ["startup"]
    assert results["classStatic"] == "rpc"
    assert results["classAdd"] == 8
    assert results["disabledSent"] == []
    assert results["endpoints"] == ["https://from-process.test/track", "https://from-binding.test/track"]


def test_worker_helper_hono_in_workerd(tmp_path: Path, typescript: Path, workers_runtime: Path) -> None:
    source = tmp_path / "chittybeacon.ts"
    source.write_text(workers.render_helper({**ANSWERS, "project_name": "edge-router"}))
    transpile_helper(typescript, source, tmp_path / "chittybeacon.js")
    (tmp_path / "index.js").write_text(HONO_WORKER)
    (tmp_path / "node_modules").symlink_to(workers_runtime)
    bundle = tmp_path / "bundle.mjs"
    esbuild = workers_runtime / "esbuild" / "bin" / "esbuild"
    subprocess.run(
        [str(esbuild), str(tmp_path / "index.js"), "--bundle", "--format=esm", "--platform=neutral",
         "--main-fields=module,main", f"--outfile={bundle}"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    script = tmp_path / "workerd.mjs"
    script.write_text(WORKERD_SCRIPT)

    # Miniflare names modules relative to the working directory, so the bundle sits in it.
    assert NODE is not None
    result = subprocess.run(
        [NODE, str(script), str(workers_runtime), bundle.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=node_env(),
    )

    assert result.returncode == 0, result.stderr
    results = json.loads(result.stdout)
    assert results["enabled"] == {
        "home": "home",
        "routed": "[1,2]",
        "scheduled": "ok",
        "events": ["startup", "heartbeat"],
    }
    assert results["disabled"]["home"] == "home"
    assert results["disabled"]["events"] == []


# Entry files the step must not edit.


def test_plan_node_beacon_binary_entry(tmp_path: Path) -> None:
    root = copy_fixture("node_express_cjs", tmp_path)
    (root / "bin" / "www").write_bytes(b"\x7fELF\x02\x01\x01\x00\x00")
    before = snapshot(root)

    with pytest.raises(ChittyError, match=r"^bin/www: is a binary file"):
        run_steps(root)

    assert snapshot(root) == before


def test_plan_node_beacon_non_utf8_entry(tmp_path: Path) -> None:
    root = copy_fixture("node_express_cjs", tmp_path)
    (root / "bin" / "www").write_bytes("// Größe\nvar app = require('../app');\n".encode("latin-1"))
    before = snapshot(root)

    with pytest.raises(ChittyError, match=r"^bin/www: is not valid UTF-8"):
        run_steps(root)

    assert snapshot(root) == before


@pytest.mark.parametrize("beacon_entry", ["", "server.js"], ids=["detected", "configured"])
def test_plan_node_beacon_symlink_out_of_repository(tmp_path: Path, beacon_entry: str) -> None:
    outside = tmp_path / "outside.js"
    outside.write_text("console.log('elsewhere');\n")
    root = tmp_path / "repo"
    root.mkdir()
    (root / "package.json").write_text('{\n  "name": "a",\n  "private": true,\n  "main": "server.js"\n}\n')
    (root / "server.js").symlink_to(outside)
    before = snapshot(root)

    with pytest.raises(ChittyError, match=r"^server\.js: .*points outside the repository"):
        run_steps(root, beacon_entry=beacon_entry)

    assert snapshot(root) == before
    assert outside.read_text() == "console.log('elsewhere');\n"


def test_plan_node_beacon_configured_entry_missing(tmp_path: Path) -> None:
    root = copy_fixture("node_express_cjs", tmp_path)
    before = snapshot(root)

    with pytest.raises(ChittyError, match=r"^src/main\.js: not found; set beacon_entry"):
        run_steps(root, beacon_entry="src/main.js")

    assert snapshot(root) == before


def test_plan_node_beacon_undetectable_entry_notes(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{\n  "name": "a",\n  "private": true\n}\n')
    (tmp_path / "index.js").write_text("\n")
    (tmp_path / "server.js").write_text("\n")
    before = snapshot(tmp_path)

    plan, written = run_steps(tmp_path)

    assert written == []
    assert snapshot(tmp_path) == before
    assert plan.notes == [
        "ChittyBeacon not wired: several entry files found "
        "(index.js, server.js); set beacon_entry to the file that starts the application "
        "(copier update --trust --defaults --data beacon_entry=path/to/server.js)"
    ]


def test_plan_node_beacon_library_untouched(tmp_path: Path) -> None:
    root = copy_fixture("node_library", tmp_path)
    before = snapshot(root)

    plan, written = run_steps(root, project_name="express")

    assert written == []
    assert snapshot(root) == before
    assert len(plan.notes) == 1
    assert plan.notes[0].startswith("ChittyBeacon not wired: package.json looks like a library")
    assert plan.notes[0].endswith("(copier update --trust --defaults --data beacon_entry=path/to/server.js)")


@needs_node
def test_plan_node_beacon_library_configured_entry(tmp_path: Path) -> None:
    root = copy_fixture("node_library", tmp_path)

    _, written = run_steps(root, beacon_entry="index.js")

    assert written == ["index.js", "package.json"]
    assert (root / "index.js").read_text() == (
        f"/*!\n * express\n * MIT Licensed\n */\n\n'use strict';\n\n{CJS}\n"
        "module.exports = require('./lib/express');\n"
    )
    node_check(root / "index.js")


def test_plan_node_beacon_monorepo_root_untouched(tmp_path: Path) -> None:
    root = copy_fixture("node_monorepo_turbo", tmp_path)
    before = snapshot(root)

    plan, written = run_steps(root, package_manager="pnpm")

    assert written == []
    assert snapshot(root) == before
    assert len(plan.notes) == 1
    assert "pnpm-workspace.yaml declares workspaces" in plan.notes[0]
    assert "copier update --trust --defaults --data beacon_entry=" in plan.notes[0]


def test_plan_node_beacon_monorepo_next_app(tmp_path: Path, typescript: Path) -> None:
    root = copy_fixture("node_monorepo_turbo", tmp_path)

    plan, written = run_steps(root, package_manager="pnpm", beacon_entry="apps/nextjs/src/instrumentation.ts")

    assert written == ["apps/nextjs/package.json", "apps/nextjs/src/instrumentation.ts"]
    hook = root / "apps" / "nextjs" / "src" / "instrumentation.ts"
    assert hook.read_text() == nextjs.new_instrumentation()
    assert f'"{BEACON_PACKAGE}": "^1.0.0"' in (root / "apps" / "nextjs" / "package.json").read_text()
    assert any("to apps/nextjs/package.json; run `pnpm install`" in note for note in plan.notes)
    assert typescript_errors(typescript, "parse", hook) == []


@pytest.mark.parametrize(
    ("beacon_entry", "message"),
    [
        pytest.param(
            "apps/nextjs/src/app/page.tsx",
            'set beacon_entry to "apps/nextjs/instrumentation.ts" (or "apps/nextjs/src/instrumentation.ts")',
            id="client-module",
        ),
        pytest.param(
            "apps/nextjs/instrumentation.ts",
            "Next.js reads instrumentation from apps/nextjs/src/ in this app; "
            "set beacon_entry to 'apps/nextjs/src/instrumentation.ts'",
            id="wrong-directory",
        ),
    ],
)
def test_plan_node_beacon_monorepo_next_rejected(tmp_path: Path, beacon_entry: str, message: str) -> None:
    root = copy_fixture("node_monorepo_turbo", tmp_path)
    before = snapshot(root)

    with pytest.raises(ChittyError) as error:
        run_steps(root, beacon_entry=beacon_entry)

    assert message in str(error.value)
    assert snapshot(root) == before


@pytest.mark.parametrize("beacon_entry", ["src", "./src/"])
def test_plan_node_beacon_configured_directory(tmp_path: Path, beacon_entry: str) -> None:
    root = copy_fixture("node_ts_dist", tmp_path)
    before = snapshot(root)

    with pytest.raises(ChittyError) as error:
        run_steps(root, beacon_entry=beacon_entry)

    assert str(error.value) == (
        "src: is a directory; set beacon_entry to the file in it that starts the application, "
        "such as src/index.ts"
    )
    assert snapshot(root) == before


def test_plan_node_beacon_configured_symlinked_directory(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "index.js").write_text("console.log('elsewhere');\n")
    root = tmp_path / "repo"
    root.mkdir()
    (root / "package.json").write_text('{\n  "name": "a",\n  "private": true\n}\n')
    (root / "src").symlink_to(outside)
    before = snapshot(root)

    with pytest.raises(ChittyError) as error:
        run_steps(root, beacon_entry="src/index.js")

    assert str(error.value).startswith(
        "src: is a symlink that points outside the repository, and beacon_entry 'src/index.js' goes through it;"
    )
    assert snapshot(root) == before
    assert (outside / "index.js").read_text() == "console.log('elsewhere');\n"
