#!/usr/bin/env python3
"""Spawn-level benchmark of docker-credential-ecr-login, side by side with the
Go helper (run by scripts/bench, which sets up the emulator and namespaces).

Every measured command is started the same way (posix_spawn, stdin from a
file, stdout/stderr to /dev/null) and reaped with wait4, so the figures compare
like with like: wall time per process, and peak RSS from the kernel's rusage.
Prints one line per measurement and a summary table.
"""
import argparse
import os
import statistics
import sys
import time


def spawn(argv, env, stdin_path):
    fd_in = os.open(stdin_path, os.O_RDONLY)
    fd_null = os.open(os.devnull, os.O_WRONLY)
    actions = [
        (os.POSIX_SPAWN_DUP2, fd_in, 0),
        (os.POSIX_SPAWN_DUP2, fd_null, 1),
        (os.POSIX_SPAWN_DUP2, fd_null, 2),
    ]
    start = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter_ns() - start
    os.close(fd_in)
    os.close(fd_null)
    code = os.waitstatus_to_exitcode(status)
    return elapsed / 1e6, usage.ru_maxrss, code


def peak_rss_kib(argv, env, stdin_path, runs=20):
    """Peak RSS of the command itself, via GNU time (fork + exec from a small
    process; the rusage a Python parent sees would include its own pages)."""
    import subprocess
    peak = 0
    for _ in range(runs):
        with open(stdin_path, "rb") as f:
            out = subprocess.run(["/usr/bin/time", "-f", "%M"] + argv, stdin=f,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        peak = max(peak, int(out.stderr.decode().strip().splitlines()[-1]))
    return peak


def measure(name, argv, env, stdin_path, runs, warmup, expect=0):
    for _ in range(warmup):
        spawn(argv, env, stdin_path)
    times = []
    for _ in range(runs):
        ms, _, code = spawn(argv, env, stdin_path)
        if code != expect:
            sys.exit(f"bench: {name}: {argv[0]} exited {code} (expected {expect})")
        times.append(ms)
    return summarize(name, argv, env, stdin_path, times)


def summarize(name, argv, env, stdin_path, times, rss=True):
    in_order = list(times)
    times = sorted(times)
    result = {
        "times": in_order,
        "name": name,
        "median_ms": statistics.median(times),
        "p10_ms": times[len(times) // 10],
        "p90_ms": times[(len(times) * 9) // 10],
        "peak_rss_kib": peak_rss_kib(argv, env, stdin_path) if rss else 0,
        "runs": len(times),
    }
    rss_text = f"peak RSS {result['peak_rss_kib']} KiB" if rss else ""
    print(f"{name:<34} median {result['median_ms']:7.3f} ms   p10 {result['p10_ms']:7.3f}   p90 {result['p90_ms']:7.3f}   {rss_text}  ({len(times)} runs)")
    return result


def fail(name, argv, env, stdin_path, code):
    """Stops the benchmark, showing what one more run says on stderr."""
    import subprocess
    with open(stdin_path, "rb") as f:
        again = subprocess.run(argv, stdin=f, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, env=env)
    sys.exit(f"bench: {name}: {argv[0]} exited {code}; once more it exits "
             f"{again.returncode}, saying: {again.stderr.decode(errors='replace')[-2000:]}")


def measure_alternating(cmds, stdin_path, runs, warmup, rss=True):
    """Runs the commands (name, argv, env) in turn, run after run, so that all
    see the same machine load; returns their summaries in order."""
    for _ in range(warmup):
        for _, argv, env in cmds:
            spawn(argv, env, stdin_path)
    times = [[] for _ in cmds]
    for _ in range(runs):
        for (name, argv, env), out in zip(cmds, times):
            ms, _, code = spawn(argv, env, stdin_path)
            if code != 0:
                fail(name, argv, env, stdin_path, code)
            out.append(ms)
    return [summarize(name, argv, env, stdin_path, t, rss) for (name, argv, env), t in zip(cmds, times)]


def use_endpoint(hosts_file, ip, api_host):
    """Points the API name at `ip` (the file is bind-mounted over /etc/hosts:
    rewritten in place, not replaced)."""
    with open(hosts_file, "w") as f:
        f.write(f"127.0.0.1 localhost\n{ip} {api_host}\n::1 localhost\n")


def instructions(argv, env, stdin_path):
    """The instructions one run of `argv` executes (valgrind callgrind), or
    None when valgrind fails."""
    import re
    import subprocess
    with open(stdin_path, "rb") as f:
        out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"] + argv,
                             stdin=f, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    found = re.search(rb"Collected\s*:\s*(\d+)", out.stderr)
    if out.returncode != 0 or not found:
        print(f"bench: callgrind run failed (exit {out.returncode}): {out.stderr.decode(errors='replace')[-1000:]}")
        return None
    return int(found.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="our helper")
    ap.add_argument("--go-bin", required=True, help="the Go helper")
    ap.add_argument("--before-bin", help="an older build of ours, measured in turn with ours")
    ap.add_argument("--http-endpoint", required=True, help="the emulator's plain-HTTP URL")
    ap.add_argument("--ca-bundle", required=True, help="the system CA bundle (with the test CA)")
    ap.add_argument("--registry", default="123456789012.dkr.ecr.us-east-1.amazonaws.com")
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--cold-runs", type=int, default=60)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--hosts-file", required=True, help="the file bind-mounted over /etc/hosts")
    ap.add_argument("--api-host", required=True, help="the API name")
    ap.add_argument("--zero-cost-ip", default="127.0.0.2", help="nginx's address")
    ap.add_argument("--emulator-ip", default="127.0.0.1", help="stunnel's address")
    args = ap.parse_args()

    stdin_path = os.path.join(args.workdir, "registry.txt")
    with open(stdin_path, "w") as f:
        f.write(args.registry + "\n")
    env = dict(os.environ)
    true_bin = "/bin/true" if os.path.exists("/bin/true") else "/usr/bin/true"
    ours, go = [args.bin, "get"], [args.go_bin, "get"]

    # Cold gets over TLS at the real API name, ours and Go's alternating: with
    # the system store only, then with the CA variables set for both; first
    # against the zero-cost endpoint, then behind the emulator.
    cold = dict(env, AWS_ECR_DISABLE_CACHE="true")
    ca_vars = dict(cold, AWS_CA_BUNDLE=args.ca_bundle, SSL_CERT_FILE=args.ca_bundle,
                   SSL_CERT_DIR=os.path.dirname(args.ca_bundle))
    use_endpoint(args.hosts_file, args.zero_cost_ip, args.api_host)
    zero, zero_go = measure_alternating(
        [("cold get, zero-cost TLS", ours, cold), ("Go: cold get, zero-cost TLS", go, cold)],
        stdin_path, args.cold_runs, 5, rss=False)
    zero_vars, zero_vars_go = measure_alternating(
        [("cold get, zero-cost TLS, CA variables", ours, ca_vars),
         ("Go: cold get, zero-cost, CA variables", go, ca_vars)],
        stdin_path, args.cold_runs, 5, rss=False)
    insns = instructions(ours, cold, stdin_path)
    insns_vars = instructions(ours, ca_vars, stdin_path)
    use_endpoint(args.hosts_file, args.emulator_ip, args.api_host)
    tls, tls_go = measure_alternating(
        [("cold get, TLS", ours, cold), ("Go: cold get, TLS", go, cold)],
        stdin_path, args.cold_runs, 5)
    tls_vars, tls_vars_go = measure_alternating(
        [("cold get, TLS, CA variables", ours, ca_vars),
         ("Go: cold get, TLS, CA variables", go, ca_vars)],
        stdin_path, args.cold_runs, 5, rss=False)
    http = measure("cold get, plain HTTP", ours,
                   dict(cold, AWS_ENDPOINT_URL_ECR=args.http_endpoint),
                   stdin_path, args.cold_runs, 3)

    # Warm gets: prime both caches once, then alternate with a bare spawn.
    for argv in (ours, go):
        _, _, code = spawn(argv, env, stdin_path)
        if code != 0:
            sys.exit(f"bench: priming {argv[0]} get failed (exit {code}); run it by hand to see stderr")
    baseline, warm, warm_go = measure_alternating(
        [("spawn /bin/true", [true_bin], env), ("warm get (cache hit)", ours, env),
         ("Go: warm get (cache hit)", go, env)],
        stdin_path, args.runs, 20)
    before = None
    if args.before_bin:
        # The older build in turn with ours, each with its own cache: a cold
        # get at the zero-cost endpoint, then a warm one.
        was, was_env = [args.before_bin, "get"], dict(env, AWS_ECR_CACHE_DIR=os.path.join(
            args.workdir, "cache-before"))
        use_endpoint(args.hosts_file, args.zero_cost_ip, args.api_host)
        cold_now, cold_was = measure_alternating(
            [("cold get, zero-cost TLS", ours, cold),
             ("before: cold get, zero-cost TLS", was, dict(was_env, AWS_ECR_DISABLE_CACHE="true"))],
            stdin_path, args.cold_runs, 5, rss=False)
        _, _, code = spawn(was, was_env, stdin_path)
        if code != 0:
            sys.exit(f"bench: priming {was[0]} get failed (exit {code}); run it by hand to see stderr")
        warm_now, warm_was = measure_alternating(
            [("warm get (cache hit)", ours, env), ("before: warm get (cache hit)", was, was_env)],
            stdin_path, args.runs, 20)
        use_endpoint(args.hosts_file, args.emulator_ip, args.api_host)
        before = (cold_now, cold_was, warm_now, warm_was)
    no_creds_env = {k: v for k, v in cold.items()
                    if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    no_creds = measure("get without credentials (fails)", ours, no_creds_env, stdin_path,
                       args.cold_runs, 3, expect=1)

    def ratio(a, b):
        """The ratio of the medians, and the median of the run-by-run ratios
        (each run beside the other command's next run: steadier when the
        machine's load comes and goes)."""
        paired = statistics.median(x / y for x, y in zip(a["times"], b["times"]))
        return f"{a['median_ms'] / b['median_ms']:.2f}x (run by run {paired:.2f}x)"

    def millions(n):
        return "?" if n is None else f"{n / 1e6:.2f} M"

    print()
    print(f"cold get, zero-cost TLS:   {zero['median_ms']:.2f} ms vs Go {zero_go['median_ms']:.2f} ms: "
          f"{ratio(zero, zero_go)}  (target <= 0.5x)")
    print(f"  with CA variables set:   {zero_vars['median_ms']:.2f} ms vs Go {zero_vars_go['median_ms']:.2f} ms: "
          f"{ratio(zero_vars, zero_vars_go)}")
    print(f"  instructions (callgrind): {millions(insns)}, with CA variables {millions(insns_vars)}  (target <= 7 M)")
    print(f"cold get over TLS:         {tls['median_ms']:.2f} ms vs Go {tls_go['median_ms']:.2f} ms: "
          f"{ratio(tls, tls_go)}  (behind the emulator)")
    print(f"  with CA variables set:   {tls_vars['median_ms']:.2f} ms vs Go {tls_vars_go['median_ms']:.2f} ms: "
          f"{ratio(tls_vars, tls_vars_go)}")
    print(f"cold get over plain HTTP:  {http['median_ms']:.2f} ms")
    print(f"warm get:                  {warm['median_ms']:.2f} ms: {ratio(warm, baseline)} a bare spawn "
          f"(target <= 1.5x), {ratio(warm, warm_go)} Go's {warm_go['median_ms']:.2f} ms")
    print(f"get without credentials:   {no_creds['median_ms']:.2f} ms")
    print(f"peak RSS:                  warm get {warm['peak_rss_kib']} KiB, cold get over TLS "
          f"{tls['peak_rss_kib']} KiB (Go {tls_go['peak_rss_kib']} KiB)")
    print(f"binary size:               {os.path.getsize(args.bin)} bytes (Go helper {os.path.getsize(args.go_bin)})")
    if before:
        cold_now, cold_was, warm_now, warm_was = before
        print(f"before ({args.before_bin}), in turn with ours:")
        print(f"  cold get, zero-cost TLS: {cold_was['median_ms']:.2f} ms, now {cold_now['median_ms']:.2f} ms: "
              f"{ratio(cold_now, cold_was)}")
        print(f"  warm get:                {warm_was['median_ms']:.2f} ms, now {warm_now['median_ms']:.2f} ms: "
              f"{ratio(warm_now, warm_was)}; peak RSS {warm_was['peak_rss_kib']} KiB, now "
              f"{warm_now['peak_rss_kib']} KiB")
        print(f"  binary size:             {os.path.getsize(args.before_bin)} bytes, now {os.path.getsize(args.bin)}")


if __name__ == "__main__":
    main()
