#!/usr/bin/env python3
"""Race figures of docker-credential-ecr-login against a misbehaving ECR API
(run by scripts/bench-faults).

A fake ECR API on 127.0.0.1 answers GetAuthorizationToken as the scenario
says: throttling, slow, hanging. Every helper reaches it the same way, as an
HTTPS proxy would be used (HTTPS_PROXY=http://127.0.0.1:PORT): the fake
accepts the CONNECT to api.ecr.us-east-1.amazonaws.com:443 and answers over
TLS with a certificate from a throwaway CA (SSL_CERT_FILE), so the Go helper,
which has no endpoint override, takes part too. For every scenario and
binary: N concurrent `get`s (each in a fresh cache, warm with a token past
its half-life or cold), the requests the API saw, the answers (served /
failed / killed after --kill-after seconds) and the wall time of the slowest
and median `get`.
"""
import argparse
import base64
import json
import os
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
API_HOST = "api.ecr.us-east-1.amazonaws.com"


def make_pki(work):
    """A throwaway CA and a certificate for the API name; the CA's path."""
    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    ca, key = os.path.join(work, "ca.pem"), os.path.join(work, "ca.key")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", ca,
            "-days", "2", "-subj", "/CN=ecr-login fault bench CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    skey, csr, cert = (os.path.join(work, n) for n in ("server.key", "server.csr", "server.pem"))
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", skey, "-out", csr,
            "-subj", f"/CN={API_HOST}")
    ext = os.path.join(work, "server.ext")
    with open(ext, "w") as f:
        f.write(f"basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n"
                f"subjectAltName=DNS:{API_HOST}\n")
    openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", key, "-CAcreateserial",
            "-out", cert, "-days", "2", "-extfile", ext)
    return ca, cert, skey


class Fake:
    def __init__(self, cert, key):
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(cert, key)
        self.mode = "ok"
        self.count = 0
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_CONNECT(self):
                self.send_response(200, "Connection established")
                self.end_headers()
                self.wfile.flush()
                tls = fake.tls.wrap_socket(self.connection, server_side=True)
                self.connection = tls
                self.rfile = tls.makefile("rb")
                self.wfile = tls.makefile("wb", buffering=0)
                self.close_connection = False

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                self.rfile.read(length)
                with fake.lock:
                    fake.count += 1
                    n = fake.count
                    mode = fake.mode
                answer = fake.respond(n, mode)
                if answer is None:
                    return
                status, body = answer
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/x-amz-json-1.1")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def respond(self, n, mode):
        """The answer (HTTP status, JSON body) to request number `n` in
        `mode`, after any delay the mode asks for; None to send nothing."""
        if mode == "hang":
            time.sleep(3600)
            return None
        if mode.startswith("slow:"):
            time.sleep(float(mode.split(":", 1)[1]))
            mode = "ok"
        if mode == "throttle":
            return 400, {"__type": "ThrottlingException", "message": "Rate exceeded"}
        token = base64.b64encode(f"AWS:pw-{n}".encode()).decode()
        return 200, {"authorizationData": [{
            "authorizationToken": token,
            "expiresAt": time.time() + 12 * 3600,
            "proxyEndpoint": f"https://{REGISTRY}"}]}

    def set(self, mode):
        with self.lock:
            self.mode = mode

    def requests(self):
        with self.lock:
            return self.count


def environment(work, proxy, ca, extra):
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG")}
    env.update({
        "HOME": os.path.join(work, "home"),
        "AWS_ECR_CACHE_DIR": os.path.join(work, "cache"),
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLEBENCH",
        "AWS_SECRET_ACCESS_KEY": "bench-secret-key",
        "AWS_EC2_METADATA_DISABLED": "true",
        "HTTPS_PROXY": proxy,
        "SSL_CERT_FILE": ca,
        "AWS_CONFIG_FILE": os.path.join(work, "home", "config"),
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(work, "home", "credentials"),
    })
    env.update(extra)
    os.makedirs(env["HOME"], exist_ok=True)
    return env


def age_entries(cache):
    """Makes every cached entry 7 hours old with 5 hours left (ecr-login's
    entries and the Go helper's cache.json)."""
    now = int(time.time())
    rfc3339 = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    aged = 0
    for root, _, files in os.walk(cache):
        for name in files:
            if name.endswith(".json") and not name.startswith("."):
                path = os.path.join(root, name)
                with open(path) as f:
                    entry = json.load(f)
                if "Registries" in entry:
                    for e in entry["Registries"].values():
                        e["RequestedAt"] = rfc3339(now - 7 * 3600)
                        e["ExpiresAt"] = rfc3339(now + 5 * 3600)
                        aged += 1
                elif "requested_at" in entry:
                    entry["requested_at"] = now - 7 * 3600
                    entry["expires_at"] = now + 5 * 3600
                    aged += 1
                with open(path, "w") as f:
                    json.dump(entry, f)
    if not aged:
        sys.exit(f"bench: no cache entry found in {cache}")


def run_gets(binary, env, n, kill_after):
    procs = []
    for _ in range(n):
        start = time.monotonic()
        p = subprocess.Popen([binary, "get"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, env=env)
        p.stdin.write(REGISTRY.encode())
        p.stdin.close()
        p.stdin = None
        procs.append((start, p))
    results = [None] * len(procs)

    def wait(i, start, p):
        try:
            out, _ = p.communicate(timeout=kill_after)
            results[i] = (time.monotonic() - start, p.returncode == 0 and b"Secret" in out, False)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            results[i] = (time.monotonic() - start, False, True)

    # One waiter per process: each `get`'s own end time, not the order they are reaped in.
    waiters = [threading.Thread(target=wait, args=(i, start, p)) for i, (start, p) in enumerate(procs)]
    for w in waiters:
        w.start()
    for w in waiters:
        w.join()
    return results


SCENARIOS = [
    # name, warm, mode, concurrent gets, extra environment, sequential rounds
    ("throttling, warm (past half-life, 5 h left)", True, "throttle", None, {}, 1),
    ("throttling, cold", False, "throttle", None, {}, 1),
    ("hanging, warm", True, "hang", None, {}, 1),
    ("hanging, cold", False, "hang", None, {}, 1),
    ("answers in 12 s, warm", True, "slow:12", None, {}, 1),
    ("answers in 12 s, cold, AWS_ECR_TIMEOUT=60", False, "slow:12", 1, {"AWS_ECR_TIMEOUT": "60"}, 1),
    ("permanent throttling, cold, 5 gets in a row", False, "throttle", 1, {}, 5),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", action="append", required=True, metavar="LABEL=PATH")
    ap.add_argument("-n", type=int, default=50, help="concurrent gets per race (default 50)")
    ap.add_argument("--only", help="run only scenarios whose name contains this")
    ap.add_argument("--kill-after", type=float, default=90,
                    help="kill a get still running after this many seconds (default 90)")
    args = ap.parse_args()
    pki = tempfile.mkdtemp(prefix="ecr-login-faults-pki.")
    ca, cert, key = make_pki(pki)
    fake = Fake(cert, key)
    print(f"fake ECR: {API_HOST} through the proxy {fake.url}; {args.n} concurrent gets per race")
    rows = []
    for name, warm, mode, n, extra, rounds in SCENARIOS:
        if args.only and args.only not in name:
            continue
        n = n or args.n
        for spec in args.bin:
            label, binary = spec.split("=", 1)
            work = tempfile.mkdtemp(prefix="ecr-login-faults.")
            try:
                env = environment(work, fake.url, ca, extra)
                if warm:
                    fake.set("ok")
                    subprocess.run([binary, "get"], input=REGISTRY.encode(), env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
                    age_entries(env["AWS_ECR_CACHE_DIR"])
                fake.set(mode)
                before = fake.requests()
                results, per_round = [], []
                for _ in range(rounds):
                    r0 = fake.requests()
                    got = run_gets(binary, env, n, args.kill_after)
                    per_round.append((fake.requests() - r0, max(t for t, _, _ in got)))
                    results += got
                requests = fake.requests() - before
                times = [t for t, _, _ in results]
                served = sum(1 for _, ok, _ in results if ok)
                killed = sum(1 for _, _, k in results if k)
                detail = ""
                if rounds > 1:
                    detail = "; per get: " + ", ".join(f"{r} req {t:.1f} s" for r, t in per_round)
                if killed:
                    detail += f"; {killed} still running after {args.kill_after:.0f} s, killed"
                row = (name, label, n * rounds, served, requests, max(times), statistics.median(times),
                       killed)
                rows.append(row)
                print(f"{name:<46} {label:<8} {n * rounds:>3} gets: {served:>3} served, "
                      f"{requests:>3} requests, max {max(times):5.1f} s, median "
                      f"{statistics.median(times):5.1f} s{detail}", flush=True)
            finally:
                fake.set("ok")
                shutil.rmtree(work, ignore_errors=True)
    print()
    print("| fault | helper | gets | served | requests | max wall | median | hung (killed) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, label, gets, served, requests, slowest, median, killed in rows:
        print(f"| {name} | {label} | {gets} | {served} | {requests} | {slowest:.1f} s | "
              f"{median:.1f} s | {killed} |")
    shutil.rmtree(pki, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
