"""Plain-HTTP Matrix calls shared by the soak (scripts/soak) and the
side-by-side benchmark (bench/matrix-side-by-side): a JSON call that waits
out 429s, and registration through Synapse's shared-secret admin API."""

import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.request


def call(url, method="GET", body=None, token=None, timeout=60):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    for _ in range(50):
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            if e.code == 429:
                time.sleep(json.loads(e.read() or b"{}").get("retry_after_ms", 500) / 1000)
                continue
            raise RuntimeError(f"{method} {url}: {e.code} {e.read()[:300]!r}")
    raise RuntimeError(f"{method} {url}: rate limited for good")


def register(hs, secret, localpart, password):
    nonce = call(f"{hs}/_synapse/admin/v1/register")["nonce"]
    mac = hmac.new(secret.encode(), digestmod=hashlib.sha1)
    mac.update(b"\x00".join([nonce.encode(), localpart.encode(), password.encode(), b"notadmin"]))
    r = call(f"{hs}/_synapse/admin/v1/register", "POST", {
        "nonce": nonce, "username": localpart, "password": password, "admin": False, "mac": mac.hexdigest(),
    })
    return r["user_id"], r["access_token"]


def synapse_env(root):
    """The test Synapse's URL and registration secret, from the .synapse/env
    that scripts/synapse/start writes under the repository `root`."""
    env = {}
    path = os.path.join(root, ".synapse", "env")
    if not os.path.exists(path):
        sys.exit("no Synapse: run `bash scripts/synapse/start` first (it writes .synapse/env)")
    for line in open(path):
        k, _, v = line.strip().partition("=")
        env[k] = v
    return env["HEARTH_SYNAPSE_URL"], env["HEARTH_SYNAPSE_SECRET"]
