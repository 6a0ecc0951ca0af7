# shellcheck shell=bash
# Assertions and helpers for scenarios: run/ok/fails, text checks, the
# emulator's call log, the helper wrapper's call log, skopeo push/pull.

fail() { echo "ASSERTION FAILED: $*"; exit 1; }
run() { # run CMD... : echo, run with a 60 s cap; stdout in $OUT, stderr in $ERR,
         # both in $ALL, exit status in $RC. Never fails by itself.
  echo "+ $*"
  local errf; errf="$(mktemp "$T/stderr.XXXXXX")"
  OUT="$(timeout 60 "$@" 2>"$errf")" && RC=0 || RC=$?
  ERR="$(cat "$errf")"; rm -f "$errf"
  ALL="$OUT${OUT:+${ERR:+$'\n'}}$ERR"
  [[ -z "$OUT" ]] || printf '%s\n' "$OUT" | sed 's/^/  1| /'
  [[ -z "$ERR" ]] || printf '%s\n' "$ERR" | sed 's/^/  2| /'
  echo "  -> exit $RC"
  return 0
}
ok() { run "$@"; ((RC == 0)) || fail "expected success: $*"; }
fails() { run "$@"; ((RC != 0)) || fail "expected failure: $*"; }
contains() { grep -qiE -- "$2" <<<"$1" || fail "expected /$2/ in: $1"; }
secret_is() { # the last `run` printed get-JSON with Username AWS and this Secret
  jq -e --arg p "$1" '.Username == "AWS" and .Secret == $p' <<<"$OUT" >/dev/null \
    || fail "expected {Username: AWS, Secret: $1} on stdout, got: $OUT"
}
not_contains() { ! grep -qiE -- "$2" <<<"$1" || fail "did not expect /$2/ in: $1"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

emu() { curl -sf --max-time 5 "$EMU_HTTP$1" "${@:2}"; }
emu_reset() { emu /__reset -X POST >/dev/null || fail "emulator /__reset failed"; }
emu_count() { # emu_count TARGET [REGION] -> number of recorded calls
  emu /__calls | jq --arg t "$1" --arg r "${2:-}" \
    '[.calls[] | select(.target == $t and ($r == "" or .region == $r))] | length'
}
emu_config() { emu /__config -X POST -H 'Content-Type: application/json' -d "$1" >/dev/null \
  || { echo "emulator /__config $1 failed"; exit 1; }; }
emu_hosts() { emu /__calls | jq -r '.calls[] | "\(.target) \(.region) \(.host) \(.scheme) \(.registryIds)"'; }

helper_calls() { # summary of the wrapper's log: one line per invocation
  local d
  for d in "$WORK"/helper-calls/call.*; do
    [[ -d "$d" ]] || continue
    printf '%s stdin=%s rc=%s ms=%s stderr=%s\n' "$(cat "$d/action")" \
      "$(head -c 200 "$d/stdin" | tr '\n' ' ')" "$(cat "$d/rc" 2>/dev/null)" \
      "$(cat "$d/ms" 2>/dev/null)" "$(tr '\n' ' ' <"$d/stderr")"
  done
}
helper_gets() { local c; c="$(helper_calls)"; grep -c '^get ' <<<"$c" || true; }

push_image() { # push_image REF [IMAGE_DIR TAG]
  ok "${SKOPEO[@]}" copy --retry-times 0 "oci:${2:-$WORK/image}:${3:-v1}" "docker://$1"
}
pull_image() { # pull_image REF [TEXT] : copy to a dir: and check the layer's content
  local out="$T/pull.$RANDOM" want="${2:-hello from ecr-login e2e}" f found=""
  ok "${SKOPEO[@]}" copy --retry-times 0 "docker://$1" "dir:$out"
  [[ -s "$out/manifest.json" ]] || fail "pulled image has no manifest.json"
  for f in "$out"/*; do
    [[ "$(tar -xzOf "$f" hello.txt 2>/dev/null)" == "$want" ]] && found=1
  done
  [[ -n "$found" ]] || fail "no pulled layer holds hello.txt = '$want'"
}
inspect_image() { ok "${SKOPEO[@]}" inspect --retry-times 0 "docker://$1"; contains "$ALL" '"Digest"'; }
registry_has_tag() { # registry_has_tag REPO TAG : account A's registry stores REPO:TAG
  [[ -s "$WORK/registry-ecr/data/docker/registry/v2/repositories/$1/_manifests/tags/$2/current/link" ]] \
    || fail "account A's registry has no $1:$2"
}
