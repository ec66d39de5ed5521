"""The verifier page: one static HTML file (resources/verifier/verifier.html) with the programme's
public keys and the signed revocation list embedded. It checks a statement in the browser with
the Web Crypto API (Ed25519), offline, no server and no external script; Swedish and English."""

from __future__ import annotations

import json

from app import config
from app.signing.key import PublicKeys, b64url, fingerprint

TEMPLATE = config.RESOURCES / "verifier" / "verifier.html"
_MARK = "/*KURSDESK-DATA*/"


def page(keys: PublicKeys, revocation_list: str) -> str:
    data = {"keys": [b64url(k) for k in keys.keys], "fingerprint": fingerprint(keys.keys[0]), "issuer": keys.issuer,
            "revocations": json.loads(revocation_list)}
    # inside <script>: no "</script>" or "<!--" can be formed by the data
    embedded = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return TEMPLATE.read_text(encoding="utf-8").replace(_MARK, embedded, 1)
