"""The schema in an editor: the YAML language server (npm `yaml-language-server`, what VS Code's
YAML extension runs) flags the mistakes in a spec and nothing in the built-in specs.

Skips unless `yaml-language-server` is on PATH (`npm install -g yaml-language-server`).
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from archcalc.library import builtin_paths
from archcalc.spec.schema import spec_schema

SERVER = shutil.which("yaml-language-server")
pytestmark = pytest.mark.skipif(SERVER is None, reason="yaml-language-server is not installed")

BAD = """\
input: [3, 32, 32]
layers:
  - conv: {out: 16, kernel: 3}
  - maxpol: [2, 2]
  - conv: {out: 0, kernel: 3}
  - conv: {out: 8, kernel: 3, bias: yes}
  - maxpool: [3, 2, 1, 1, 0]
"""


class Client:
    """The least of a language-server client: framed JSON-RPC over the server's stdin/stdout."""

    def __init__(self, schema: Path) -> None:
        self.settings = {"yaml": {"schemas": {schema.as_uri(): "*.yaml"}, "validate": True}}
        self.proc = subprocess.Popen([SERVER, "--stdio"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.send(id=1, method="initialize",
                  params={"processId": None, "rootUri": None, "capabilities": {"workspace": {"configuration": True}}})
        self.wait(lambda m: m.get("id") == 1)
        self.send(method="initialized", params={})
        self.send(method="workspace/didChangeConfiguration", params={"settings": self.settings})

    def send(self, **message) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def receive(self) -> dict:
        length = 0
        while (line := self.proc.stdout.readline().strip()):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return json.loads(self.proc.stdout.read(length))

    def wait(self, wanted):
        while True:
            message = self.receive()
            if message.get("method") == "workspace/configuration":
                self.send(id=message["id"], result=[self.settings["yaml"]] * len(message["params"]["items"]))
            elif "method" in message and "id" in message:
                self.send(id=message["id"], result=None)
            if wanted(message):
                return message

    def diagnostics(self, path: Path) -> list[tuple[int, str]]:
        uri = path.resolve().as_uri()
        self.send(method="textDocument/didOpen", params={"textDocument": {
            "uri": uri, "languageId": "yaml", "version": 1, "text": path.read_text(encoding="utf-8")}})
        message = self.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                            and m["params"]["uri"] == uri)
        return sorted((d["range"]["start"]["line"] + 1, d["message"]) for d in message["params"]["diagnostics"])

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    folder = tmp_path_factory.mktemp("editor")
    schema = folder / "archcalc.schema.json"
    schema.write_text(json.dumps(spec_schema()))
    client = Client(schema)
    client.folder = folder
    yield client
    client.close()


def test_the_editor_flags_each_mistake(client):
    spec = client.folder / "bad.yaml"
    spec.write_text(BAD)
    flagged = {line for line, _ in client.diagnostics(spec)}
    assert flagged == {4, 5, 6, 7}  # maxpol, out: 0, bias: yes, five positional arguments


def test_the_editor_accepts_every_builtin_spec(client):
    for name, path in builtin_paths().items():
        copy = client.folder / f"{name}.yaml"
        copy.write_text(path.read_text(encoding="utf-8"))
        assert client.diagnostics(copy) == [], name
