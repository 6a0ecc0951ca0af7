#!/usr/bin/env python3
"""Ten common mistakes a newcomer makes, and what each helper says about them.

    python3 scripts/mistakes.py --bin now=target/debug/docker-credential-ecr-login \
        [--bin before=/path/to/older/build] [--bin go=/path/to/go/helper]

For every mistake and binary: one `get` (as Docker runs it: the registry on
stdin), its exit code, its wall time and the first line of stderr that says
something (a warning or an error). Where the mistake needs an answer from
ECR, a fake ECR API on 127.0.0.1 gives it: every helper reaches the fake the
same way, as an HTTPS proxy would be used (HTTPS_PROXY, CONNECT to the real
API name, TLS with a throwaway CA in SSL_CERT_FILE), so a Go helper, which has
no endpoint override, takes part too. Nothing leaves the loopback interface,
except the one name lookup of `api.ecr.us-east-7.invalid` (RFC 2606: it
never resolves), which asks the machine's resolver.

Needs python3 and openssl; no root.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_faults  # noqa: E402  (the same fake API and throwaway CA)
from bench_faults import make_pki  # noqa: E402

ACCOUNT = "123456789012"
REGISTRY = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"

# What the fake ECR answers, by name: (HTTP status, JSON body).
ANSWERS = {
    "rejected": (400, {"__type": "UnrecognizedClientException",
                       "message": "The security token included in the request is invalid."}),
    "skew": (400, {"__type": "InvalidSignatureException",
                   "message": "Signature expired: 20261201T090000Z is now earlier than "
                              "20261201T101500Z (20261201T102000Z - 5 min.)"}),
    "denied": (400, {"__type": "AccessDeniedException",
                     "message": f"User: arn:aws:iam::{ACCOUNT}:user/ci is not authorized to "
                                "perform: ecr:GetAuthorizationToken on resource: * because no "
                                "identity-based policy allows the ecr:GetAuthorizationToken action"}),
}


class Fake(bench_faults.Fake):
    """bench_faults' fake ECR behind CONNECT, answering every request with
    the error its mode names (one of ANSWERS)."""

    def __init__(self, cert, key):
        super().__init__(cert, key)
        self.set("denied")

    def respond(self, n, mode):
        return ANSWERS[mode]


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


# Each mistake: (what the user did, registry on stdin, fake's answer or None,
# environment changes (None removes), files under HOME).
KEYS = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLEMISTAKE", "AWS_SECRET_ACCESS_KEY": "mistake-secret"}
NO_KEYS = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None}
MISTAKES = [
    ("a typo in the ECR host (amazonaw.com)", f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaw.com",
     None, {}, {}),
    ("an 11-digit account", "12345678901.dkr.ecr.us-east-1.amazonaws.com", None, {}, {}),
    ("a region that does not exist (us-east-7)", f"{ACCOUNT}.dkr.ecr.us-east-7.amazonaws.com",
     None, {"HTTPS_PROXY": None, "AWS_ENDPOINT_URL_ECR": "https://api.ecr.us-east-7.invalid"}, {}),
    ("keys AWS does not know (revoked, mistyped)", REGISTRY, "rejected", {}, {}),
    ("the machine's clock 80 minutes off", REGISTRY, "skew", {}, {}),
    ("no ecr:GetAuthorizationToken in the policy", REGISTRY, "denied", {}, {}),
    ("no credentials anywhere", REGISTRY, None, NO_KEYS, {}),
    ("AWS_PROFILE names a profile that does not exist", REGISTRY, None,
     {**NO_KEYS, "AWS_PROFILE": "prod"}, {"config": "[profile dev]\nregion = us-east-1\n"}),
    ("an SSO profile never signed in", REGISTRY, None, {**NO_KEYS, "AWS_PROFILE": "sso"},
     {"config": "[profile sso]\nsso_session = corp\nsso_account_id = 123456789012\n"
                "sso_role_name = Dev\nregion = us-east-1\n"
                "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
                "sso_region = us-east-1\nsso_registration_scopes = sso:account:access\n"}),
    ("a credential_process that fails", REGISTRY, None, {**NO_KEYS, "AWS_PROFILE": "proc"},
     {"config": "[profile proc]\ncredential_process = sh -c 'echo \"vault: token expired\" >&2; exit 1'\n"}),
]


def said(stderr):
    """The first line that says something (a warning or an error), else the first."""
    lines = [l.strip() for l in stderr.splitlines() if l.strip()]
    for line in lines:
        low = line.lower()
        if "error" in low or "warning" in low or "not found" in low:
            return line
    return lines[0] if lines else "(nothing)"


def run(binary, registry, env, timeout):
    start = time.monotonic()
    try:
        p = subprocess.run([binary, "get"], input=registry + "\n", env=env, capture_output=True,
                           text=True, timeout=timeout)
        code, err = p.returncode, p.stderr
    except subprocess.TimeoutExpired as e:
        code, err = "killed", (e.stderr or b"").decode(errors="replace")
    return code, time.monotonic() - start, said(err)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", action="append", required=True, metavar="NAME=PATH")
    ap.add_argument("--timeout", type=float, default=60.0, help="kill a get after this (s)")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = ap.parse_args()
    bins = [b.split("=", 1) for b in args.bin]
    work = tempfile.mkdtemp(prefix="ecr-mistakes-")
    try:
        ca, cert, key = make_pki(work)
        fake = Fake(cert, key)
        rows = []
        for what, registry, answer, changes, files in MISTAKES:
            if answer:
                fake.set(answer)
            for name, binary in bins:
                case = tempfile.mkdtemp(dir=work)
                home = os.path.join(case, "home")
                env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG")}
                env.update({"HOME": home, "AWS_ECR_CACHE_DIR": os.path.join(case, "cache"),
                            "AWS_EC2_METADATA_DISABLED": "true", "AWS_ECR_IMDS": "off",
                            "AWS_REGION": "us-east-1", "HTTPS_PROXY": fake.url,
                            "SSL_CERT_FILE": ca, "AWS_CA_BUNDLE": ca,
                            "AWS_CONFIG_FILE": os.path.join(home, ".aws", "config"),
                            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, ".aws", "credentials"),
                            **KEYS})
                for k, v in changes.items():
                    if v is None:
                        env.pop(k, None)
                    else:
                        env[k] = v
                os.makedirs(home)
                for rel, text in files.items():
                    write(os.path.join(home, ".aws", rel), text)
                code, secs, line = run(binary, registry, env, args.timeout)
                rows.append((what, name, code, secs, line))
        if args.markdown:
            print("| mistake | helper | exit | time | what it says (first line on stderr) |")
            print("|---|---|---|---|---|")
            for what, name, code, secs, line in rows:
                cell = line.replace("|", "\\|")
                print(f"| {what} | {name} | {code} | {secs:.2f} s | {cell} |")
        else:
            for what, name, code, secs, line in rows:
                print(f"{what}\n  {name:>8}: exit {code}, {secs:.2f} s: {line}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
