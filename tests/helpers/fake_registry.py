"""A tiny read-only Docker registry (HTTP API v2) on 127.0.0.1, for real pull tests.

No registry is reachable from this machine, so to test pulls for real the tests
serve one image themselves: the busybox test image plus one extra layer with
unique content (so the engine has to download it), as a schema-2 manifest. The
engine treats 127.0.0.0/8 registries as insecure (plain HTTP) by default.
`corrupt=True` serves wrong bytes for that layer: the engine reports a digest
verification error in the middle of the pull stream.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _unique_layer() -> bytes:
    payload = f"rompy pull test {uuid.uuid4()}\n".encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("rompy-pull-test.txt")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


class FakeRegistry:
    def __init__(self, client, source_image: str, repository: str, tag: str, corrupt: bool = False):
        saved = io.BytesIO(b"".join(client.api.get_image(source_image)))
        with tarfile.open(fileobj=saved) as tar:
            (entry,) = json.load(tar.extractfile("manifest.json"))
            config = json.load(tar.extractfile(entry["Config"]))
            raw_layers = [tar.extractfile(name).read() for name in entry["Layers"]]
        extra = _unique_layer()
        raw_layers.append(extra)
        config["rootfs"]["diff_ids"].append(_sha(extra))
        config.setdefault("history", []).append({"created_by": "rompy pull test layer"})
        config_bytes = json.dumps(config).encode()
        layers = [gzip.compress(raw, mtime=0) for raw in raw_layers]
        self.blobs = {_sha(config_bytes): config_bytes, **{_sha(layer): layer for layer in layers}}
        if corrupt:
            digest = _sha(layers[-1])
            self.blobs[digest] = bytes(len(layers[-1]))
        self.manifest = json.dumps({
            "schemaVersion": 2, "mediaType": MANIFEST_TYPE,
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                       "size": len(config_bytes), "digest": _sha(config_bytes)},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                        "size": len(layer), "digest": _sha(layer)} for layer in layers],
        }).encode()
        self.image_id = _sha(config_bytes)
        self.repository, self.tag = repository, tag
        self.manifest_requests = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.server.server_address[1]
        self.reference = f"localhost:{self.port}/{repository}:{tag}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, code: int, body: bytes, content_type: str = "application/json", extra=None):
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Docker-Distribution-API-Version", "registry/2.0")
                for key, value in (extra or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_GET(self):
                path = self.path.split("?", 1)[0]
                if path in ("/v2", "/v2/"):
                    return self._send(200, b"{}")
                prefix = f"/v2/{registry.repository}/"
                if path.startswith(prefix + "manifests/"):
                    registry.manifest_requests += 1
                    if path.rsplit("/", 1)[1] in (registry.tag, _sha(registry.manifest)):
                        return self._send(200, registry.manifest, MANIFEST_TYPE,
                                          {"Docker-Content-Digest": _sha(registry.manifest)})
                    return self._send(404, json.dumps({"errors": [
                        {"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]}).encode())
                if path.startswith(prefix + "blobs/"):
                    blob = registry.blobs.get(path.rsplit("/", 1)[1])
                    if blob is not None:
                        return self._send(200, blob, "application/octet-stream")
                return self._send(404, json.dumps({"errors": [
                    {"code": "NAME_UNKNOWN", "message": "repository name not known to registry"}]}).encode())

            do_HEAD = do_GET

        return Handler
