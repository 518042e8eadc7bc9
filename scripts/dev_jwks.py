"""Serve the dev signing key's JWKS (impl/dev_tokens.py) on loopback, as Better Auth would.

Usage: python scripts/dev_jwks.py [--port 8001]  ->  http://127.0.0.1:8001/api/auth/jwks
"""

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from impl.dev_tokens import public_key_set

JWKS_PATH = "/api/auth/jwks"


class KeySetHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path != JWKS_PATH:
            self.send_error(404)
            return
        body = json.dumps(public_key_set()).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), KeySetHandler)
    print(f"JWKS at http://127.0.0.1:{args.port}{JWKS_PATH} (Ctrl-C stops it)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.server_close()


if __name__ == "__main__":
    main()
