#!/usr/bin/env python3
"""A minimal mhx client in Python (requests + PyJWT): key -> token -> push -> read.

    python3 mhx_client.py --url https://hub.example.org --partner kaz-moh --key kaz.private.jwk token
    python3 mhx_client.py --url … --partner kaz-moh --key kaz.private.jwk push records.json
    python3 mhx_client.py --url … --partner iom --key iom.private.jwk read region=central-asia from=2026-01 to=2026-06 by=sex

The key is the private JWK that `mhx keygen` wrote (ES256, EdDSA or RS256); its public half is
registered at the hub. Debian: apt-get install python3-requests python3-jwt python3-cryptography.
"""
import argparse
import json
import sys
import time
import uuid

import jwt  # PyJWT
import requests

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class Hub:
    def __init__(self, url, partner, key_file, timeout=60):
        self.url = url.rstrip("/")
        self.partner = partner
        with open(key_file, encoding="utf-8") as f:
            jwk = json.load(f)
        self.key = jwt.PyJWK(jwk)  # ES256, EdDSA or RS256, as the JWK's "alg" says
        self.alg, self.kid = jwk["alg"], jwk.get("kid")
        self.timeout = timeout
        self.session = requests.Session()
        self._token = None
        self._expires = 0.0

    def token_endpoint(self):
        # The assertion's audience is the token endpoint as the hub names it (RFC 8414 metadata).
        metadata = self.session.get(f"{self.url}/.well-known/oauth-authorization-server", timeout=self.timeout)
        metadata.raise_for_status()
        return metadata.json()["token_endpoint"]

    def token(self):
        """An access token, renewed 30 s before it expires."""
        if self._token and time.time() < self._expires - 30:
            return self._token
        endpoint = self.token_endpoint()
        now = int(time.time())
        assertion = jwt.encode(
            {"iss": self.partner, "sub": self.partner, "aud": endpoint, "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())},
            self.key.key,
            algorithm=self.alg,
            headers={"kid": self.kid} if self.kid else None,
        )
        answer = self.session.post(endpoint, data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        }, timeout=self.timeout)
        if answer.status_code != 200:  # RFC 6749 errors: {"error", "error_description"}
            raise RuntimeError(f"token refused: {answer.status_code} {answer.text}")
        body = answer.json()
        self._token, self._expires = body["access_token"], now + body["expires_in"]
        return self._token

    def call(self, method, path, **kwargs):
        headers = {"authorization": f"Bearer {self.token()}", **kwargs.pop("headers", {})}
        answer = self.session.request(method, f"{self.url}{path}", headers=headers, timeout=self.timeout, **kwargs)
        if answer.status_code >= 400:
            # application/problem+json: detail says what, errors[] name the fields, instance is the request id
            problem = answer.json() if "json" in answer.headers.get("content-type", "") else {"detail": answer.text}
            raise RuntimeError(f"{method} {path}: {answer.status_code} {problem.get('detail')} {json.dumps(problem.get('errors', []))}")
        return answer

    def push(self, document, idempotency_key=None):
        """document: {"schema", "version", "records": [...]}, all or nothing; returns {id, status, recordCount, receipt}."""
        headers = {"idempotency-key": idempotency_key} if idempotency_key else {}
        return self.call("POST", "/v1/submissions", json=document, headers=headers).json()

    def read(self, **query):
        """GET /v1/aggregates as JSON: a protected cell has count None and suppressed "primary" or "secondary"."""
        return self.call("GET", "/v1/aggregates", params=query).json()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--partner", required=True)
    parser.add_argument("--key", required=True, help="private JWK file")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("token")
    push = sub.add_parser("push")
    push.add_argument("file", help='JSON {"schema", "version", "records": [...]}')
    push.add_argument("--idempotency-key")
    read = sub.add_parser("read")
    read.add_argument("query", nargs="+", help="name=value: region, from, to, by, periodType, filters")
    args = parser.parse_args()

    hub = Hub(args.url, args.partner, args.key)
    if args.command == "token":
        print(hub.token())
    elif args.command == "push":
        with open(args.file, encoding="utf-8") as f:
            print(json.dumps(hub.push(json.load(f), args.idempotency_key)))
    else:
        query = dict(item.split("=", 1) for item in args.query)
        print(json.dumps(hub.read(**query)))


if __name__ == "__main__":
    try:
        main()
    except RuntimeError as err:
        print(f"mhx_client: {err}", file=sys.stderr)
        sys.exit(1)
