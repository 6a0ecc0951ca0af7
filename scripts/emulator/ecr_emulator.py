#!/usr/bin/env python3
"""Local Amazon ECR / ECR Public API emulator for tests, demos and benchmarks.

It runs moto's server (the WSGI app behind `moto_server`) behind a small WSGI
middleware that fixes what moto does not do for a credential helper:

* ECR `GetAuthorizationToken` (X-Amz-Target
  `AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken`) is answered
  by the middleware as ECR answers it: a token names the caller (a
  principal), not a registry. `registryIds` (deprecated) is recorded but
  changes nothing: the answer is one entry, password `<caller>-auth-token`,
  `proxyEndpoint` `https://<caller>.dkr.ecr.<region>.amazonaws.com`, where
  `<caller>` is the account of the signing access key: the first run of 12
  digits in it, else 123456789012 (moto's default account). Which registry
  such a token opens is the registry's decision (the e2e suite's registries
  accept only their own principals' passwords). `expiresAt` is now + token
  lifetime (12 h by default), as epoch seconds, as the real API does.
* ECR Public `GetAuthorizationToken` (X-Amz-Target
  `SpencerFrontendService.GetAuthorizationToken`) is not in moto; the
  middleware answers it itself (password `public-auth-token` by default).
* Every call that carries an X-Amz-Target is recorded: target, region and
  access key (from the SigV4 credential scope), registryIds, the HTTP Host
  header, scheme and time. Requests for EC2 instance metadata (/latest/...,
  answered by moto with role credentials AccessKeyId "test-key") are recorded
  under "imds". Control endpoints (never forwarded to moto):

    GET  /__calls   -> {"total": n, "calls": [...], "counts": [...], "imds": [...]}
    POST /__reset   -> forget recorded calls
    GET  /__config  -> current knobs
    POST /__config  -> set knobs from a JSON object:
                       {"token_lifetime": seconds,
                        "delay": seconds before answering GetAuthorizationToken,
                        "fail": null | {"status": 400, "type": "AccessDeniedException",
                                        "message": "..."}}
    GET  /__health  -> "ok"

It listens on plain HTTP (default 127.0.0.1, port chosen with --port, 0 picks
a free one) and optionally also on TLS listeners (--tls ADDR:PORT, with --cert
and --key). Once every listener is bound it writes the HTTP port to
--port-file and its PID to --pid-file, so a starter can wait on those files.
It refuses to bind anything outside the loopback range 127.0.0.0/8.
"""

import argparse
import base64
import io
import ipaddress
import json
import os
import re
import signal
import ssl
import sys
import threading
import time

ECR_TARGET = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"
ECR_PUBLIC_TARGET = "SpencerFrontendService.GetAuthorizationToken"
DEFAULT_LIFETIME = 12 * 3600
DEFAULT_ACCOUNT = "123456789012"


def parse_scope(auth_header):
    """Return (access_key, region, service) from a SigV4 Authorization header."""
    if not auth_header or "Credential=" not in auth_header:
        return None, None, None
    try:
        cred = auth_header.split("Credential=", 1)[1].split(",", 1)[0].strip()
        akid, _date, region, service, _term = cred.split("/")
        return akid, region, service
    except ValueError:
        return None, None, None


def caller_account(access_key):
    """The account a signing access key belongs to: its first run of 12 digits, else moto's default."""
    match = re.search(r"\d{12}", access_key or "")
    return match.group(0) if match else DEFAULT_ACCOUNT


def json_response(start_response, status, obj, content_type="application/json"):
    body = json.dumps(obj).encode()
    start_response(
        status,
        [("Content-Type", content_type), ("Content-Length", str(len(body)))],
    )
    return [body]


class Emulator:
    def __init__(self, app, token_lifetime, public_password, quiet):
        self.app = app
        self.lock = threading.Lock()
        self.calls = []
        self.imds = []
        self.config = {"token_lifetime": token_lifetime, "delay": 0.0, "fail": None}
        self.public_password = public_password
        self.quiet = quiet

    # ---- helpers -------------------------------------------------------
    def _read_body(self, environ):
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(body)
        return body

    def _expiry(self):
        return round(time.time() + float(self.config["token_lifetime"]), 3)

    def _record(self, environ, target, body):
        akid, region, service = parse_scope(environ.get("HTTP_AUTHORIZATION"))
        registry_ids = None
        try:
            parsed = json.loads(body or b"{}")
            if isinstance(parsed, dict):
                registry_ids = parsed.get("registryIds")
        except ValueError:
            pass
        host = environ.get("HTTP_HOST", "")
        scheme = environ.get("wsgi.url_scheme", "http")
        default_port = ":443" if scheme == "https" else ":80"
        if host.endswith(default_port):
            host = host[: -len(default_port)]
        call = {
            "target": target,
            "region": region,
            "service": service,
            "accessKeyId": akid,
            "registryIds": registry_ids,
            "host": host,
            "scheme": scheme,
            "time": time.time(),
            "userAgent": environ.get("HTTP_USER_AGENT", ""),
        }
        with self.lock:
            self.calls.append(call)
        return call

    def _calls_doc(self):
        with self.lock:
            calls = list(self.calls)
            imds = list(self.imds)
        counts = {}
        for c in calls:
            ids = c["registryIds"]
            key = (c["target"], c["region"], json.dumps(ids))
            counts[key] = counts.get(key, 0) + 1
        return {
            "total": len(calls),
            "calls": calls,
            "counts": [
                {"target": t, "region": r, "registryIds": json.loads(i), "count": n}
                for (t, r, i), n in sorted(counts.items(), key=lambda kv: str(kv[0]))
            ],
            "imds": imds,
        }

    # ---- WSGI ----------------------------------------------------------
    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path.startswith("/__"):
            return self._control(environ, start_response, path, method)

        target = environ.get("HTTP_X_AMZ_TARGET")
        if path.startswith("/latest/"):
            # EC2 instance metadata (moto serves IMDSv1/v2 and role credentials
            # AccessKeyId "test-key"); recorded separately from API calls.
            with self.lock:
                self.imds.append({"method": method, "path": path,
                                  "token": bool(environ.get("HTTP_X_AWS_EC2_METADATA_TOKEN")),
                                  "time": time.time()})
            if path == "/latest/api/token":
                if method != "PUT":
                    return json_response(start_response, "405 Method Not Allowed",
                                         {"error": "IMDSv2 tokens are PUT"})
                # moto omits the TTL header that real IMDS (and the AWS SDKs) require
                ttl = environ.get("HTTP_X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS") or "21600"

                def with_ttl(status, headers, exc_info=None):
                    return start_response(
                        status, headers + [("X-aws-ec2-metadata-token-ttl-seconds", ttl)],
                        exc_info)
                return self.app(environ, with_ttl)
            return self.app(environ, start_response)
        if not target:
            return self.app(environ, start_response)

        body = self._read_body(environ)
        self._record(environ, target, body)
        if not target.endswith(".GetAuthorizationToken"):
            return self.app(environ, start_response)

        if not environ.get("HTTP_AUTHORIZATION", "").startswith("AWS4-HMAC-SHA256"):
            return json_response(
                start_response,
                "403 Forbidden",
                {"__type": "MissingAuthenticationTokenException",
                 "message": "Missing Authentication Token"},
                "application/x-amz-json-1.1",
            )
        delay = float(self.config.get("delay") or 0)
        if delay > 0:
            time.sleep(delay)
        fail = self.config.get("fail")
        if fail:
            status = int(fail.get("status", 400))
            return json_response(
                start_response,
                f"{status} Error",
                {"__type": fail.get("type", "AccessDeniedException"),
                 "message": fail.get("message", "emulated failure")},
                "application/x-amz-json-1.1",
            )

        if target == ECR_PUBLIC_TARGET:
            token = base64.b64encode(f"AWS:{self.public_password}".encode()).decode()
            return json_response(
                start_response,
                "200 OK",
                {"authorizationData": {"authorizationToken": token,
                                       "expiresAt": self._expiry()}},
                "application/x-amz-json-1.1",
            )
        if target == ECR_TARGET:
            akid, region, _service = parse_scope(environ.get("HTTP_AUTHORIZATION"))
            caller = caller_account(akid)
            token = base64.b64encode(f"AWS:{caller}-auth-token".encode()).decode()
            return json_response(
                start_response,
                "200 OK",
                {"authorizationData": [{
                    "authorizationToken": token,
                    "expiresAt": self._expiry(),
                    "proxyEndpoint": f"https://{caller}.dkr.ecr.{region or 'us-east-1'}.amazonaws.com",
                }]},
                "application/x-amz-json-1.1",
            )
        return self.app(environ, start_response)

    def _control(self, environ, start_response, path, method):
        if path == "/__health":
            return json_response(start_response, "200 OK", "ok")
        if path == "/__calls" and method == "GET":
            return json_response(start_response, "200 OK", self._calls_doc())
        if path == "/__reset" and method == "POST":
            with self.lock:
                self.calls.clear()
                self.imds.clear()
            return json_response(start_response, "200 OK", {"reset": True})
        if path == "/__config":
            if method == "POST":
                body = self._read_body(environ)
                try:
                    update = json.loads(body or b"{}")
                    assert isinstance(update, dict)
                except (ValueError, AssertionError):
                    return json_response(start_response, "400 Bad Request",
                                         {"error": "body must be a JSON object"})
                unknown = set(update) - set(self.config)
                if unknown:
                    return json_response(start_response, "400 Bad Request",
                                         {"error": f"unknown keys {sorted(unknown)}"})
                self.config.update(update)
            return json_response(start_response, "200 OK", self.config)
        return json_response(start_response, "404 Not Found", {"error": "unknown control path"})


def check_loopback(addr):
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        sys.exit(f"ecr_emulator: listen address must be a literal IP, got {addr!r}")
    if not ip.is_loopback:
        sys.exit(f"ecr_emulator: refusing to listen on non-loopback address {addr}")


def split_addr(spec):
    host, _, port = spec.rpartition(":")
    if not host or not port.isdigit():
        sys.exit(f"ecr_emulator: expected ADDR:PORT, got {spec!r}")
    return host, int(port)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1", help="HTTP listen address (loopback)")
    p.add_argument("--port", type=int, default=int(os.environ.get("ECR_EMULATOR_PORT", "0")),
                   help="HTTP listen port; 0 picks a free one (default)")
    p.add_argument("--tls", action="append", default=[], metavar="ADDR:PORT",
                   help="also listen with TLS here (repeatable); needs --cert/--key")
    p.add_argument("--cert", help="PEM certificate chain for TLS listeners")
    p.add_argument("--key", help="PEM private key for TLS listeners")
    p.add_argument("--token-lifetime", type=float,
                   default=float(os.environ.get("ECR_EMULATOR_TOKEN_LIFETIME", DEFAULT_LIFETIME)),
                   help="seconds until issued tokens expire (default 43200 = 12 h; "
                        "env ECR_EMULATOR_TOKEN_LIFETIME)")
    p.add_argument("--public-password",
                   default=os.environ.get("ECR_EMULATOR_PUBLIC_PASSWORD", "public-auth-token"),
                   help="password inside ECR Public tokens")
    p.add_argument("--pid-file")
    p.add_argument("--port-file", help="file to receive the HTTP port once listening")
    p.add_argument("--quiet", action="store_true", help="do not log each request")
    args = p.parse_args()

    check_loopback(args.host)
    tls = [split_addr(s) for s in args.tls]
    for host, _ in tls:
        check_loopback(host)
    if tls and not (args.cert and args.key):
        sys.exit("ecr_emulator: --tls needs --cert and --key")

    # moto reads these at import time; keep it off any network and quiet.
    os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "true")
    from werkzeug.serving import make_server
    from werkzeug.test import Client
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )

    handler = MotoRequestHandler
    if args.quiet:
        class QuietHandler(MotoRequestHandler):
            def log_request(self, *a, **k):
                pass
        handler = QuietHandler

    emulator = Emulator(DomainDispatcherApplication(create_backend_app),
                        args.token_lifetime, args.public_password, args.quiet)

    # Warm up moto's ECR backend so that the first real call is not slowed by
    # imports (it would otherwise skew "cold" timings), then forget the call.
    warm = Client(emulator).post(
        "/", data=b"{}",
        headers={"X-Amz-Target": ECR_TARGET,
                 "Content-Type": "application/x-amz-json-1.1",
                 "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/"
                                  "us-east-1/ecr/aws4_request, SignedHeaders=host, "
                                  "Signature=0"})
    if warm.status_code != 200 or b"123456789012-auth-token" not in base64.b64decode(
            json.loads(warm.data)["authorizationData"][0]["authorizationToken"]):
        sys.exit(f"ecr_emulator: warm-up call failed: {warm.status_code} {warm.data[:300]!r}")
    with emulator.lock:
        emulator.calls.clear()

    servers = [make_server(args.host, args.port, emulator, threaded=True,
                           request_handler=handler)]
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        for host, port in tls:
            servers.append(make_server(host, port, emulator, threaded=True,
                                       request_handler=handler, ssl_context=ctx))

    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for t in threads:
        t.start()

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    http_port = servers[0].server_port
    if args.pid_file:
        with open(args.pid_file + ".tmp", "w") as f:
            f.write(f"{os.getpid()}\n")
        os.replace(args.pid_file + ".tmp", args.pid_file)
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(f"{http_port}\n")
        os.replace(args.port_file + ".tmp", args.port_file)
    listeners = [f"http://{args.host}:{http_port}"] + [f"https://{h}:{p}" for h, p in tls]
    print(f"ecr_emulator: pid {os.getpid()} listening on {' '.join(listeners)}", flush=True)

    while not stop.wait(0.5):
        pass
    for s in servers:
        s.shutdown()
        s.server_close()
    for path in (args.pid_file, args.port_file):
        if path:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass


if __name__ == "__main__":
    main()
