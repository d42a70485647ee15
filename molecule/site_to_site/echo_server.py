"""Test fixture: an HTTP server that answers every GET with the address the connection came from.

    python3 echo_server.py PORT
Shared by the site_to_site and exit_node scenarios (what a host behind NAT or routing sees of its peer).
"""

from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Echo(BaseHTTPRequestHandler):
    def do_GET(self):
        body = self.client_address[0].encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), Echo).serve_forever()
