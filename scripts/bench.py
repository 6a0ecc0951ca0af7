#!/usr/bin/env python3
"""Spawn-level benchmark of docker-credential-ecr-login.

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


def measure(name, argv, env, stdin_path, runs, warmup):
    for _ in range(warmup):
        spawn(argv, env, stdin_path)
    times = []
    for _ in range(runs):
        ms, _, code = spawn(argv, env, stdin_path)
        if code != 0:
            sys.exit(f"bench: {name}: {argv[0]} exited {code}")
        times.append(ms)
    return summarize(name, argv, env, stdin_path, times)


def summarize(name, argv, env, stdin_path, times):
    times = sorted(times)
    result = {
        "name": name,
        "median_ms": statistics.median(times),
        "p10_ms": times[len(times) // 10],
        "p90_ms": times[(len(times) * 9) // 10],
        "peak_rss_kib": peak_rss_kib(argv, env, stdin_path),
        "runs": len(times),
    }
    print(f"{name:<28} median {result['median_ms']:7.3f} ms   p10 {result['p10_ms']:7.3f}   p90 {result['p90_ms']:7.3f}   peak RSS {result['peak_rss_kib']} KiB   ({len(times)} runs)")
    return result


def measure_pair(a, b, env, stdin_path, runs, warmup=20):
    """Alternates two commands run by run; returns both summaries."""
    for _ in range(warmup):
        spawn(a[1], env, stdin_path)
        spawn(b[1], env, stdin_path)
    ta, tb = [], []
    for _ in range(runs):
        for (name, argv), out in ((a, ta), (b, tb)):
            ms, _, code = spawn(argv, env, stdin_path)
            if code != 0:
                sys.exit(f"bench: {name}: {argv[0]} exited {code}")
            out.append(ms)
    return summarize(a[0], a[1], env, stdin_path, ta), summarize(b[0], b[1], env, stdin_path, tb)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--registry", default="123456789012.dkr.ecr.us-east-1.amazonaws.com")
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--cold-runs", type=int, default=40)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()

    stdin_path = os.path.join(args.workdir, "registry.txt")
    with open(stdin_path, "w") as f:
        f.write(args.registry + "\n")
    env = dict(os.environ)
    true_bin = "/bin/true" if os.path.exists("/bin/true") else "/usr/bin/true"

    # Prime the cache once.
    _, _, code = spawn([args.bin, "get"], env, stdin_path)
    if code != 0:
        sys.exit(f"bench: priming get failed (exit {code}); run it by hand to see stderr")
    # The bare spawn and the warm get alternate, so both see the same machine load.
    baseline, warm = measure_pair(
        ("spawn /bin/true", [true_bin]),
        ("warm get (cache hit)", [args.bin, "get"]),
        env, stdin_path, args.runs)
    cold_env = dict(env, AWS_ECR_DISABLE_CACHE="true")
    cold = measure("cold get (emulator call)", [args.bin, "get"], cold_env, stdin_path, args.cold_runs, 3)
    print()
    print(f"warm get / bare spawn:   {warm['median_ms'] / baseline['median_ms']:.2f}x  (target <= 1.5x)")
    print(f"warm get vs Go helper:   {warm['median_ms']:.2f} ms vs 7 ms measured for the Go helper ({warm['median_ms'] / 7.0:.2f}x, target <= 0.25x)")
    print(f"cold get median:         {cold['median_ms']:.2f} ms")
    print(f"peak RSS of a warm get:  {warm['peak_rss_kib']} KiB")
    print(f"binary size:             {os.path.getsize(args.bin)} bytes")


if __name__ == "__main__":
    main()
