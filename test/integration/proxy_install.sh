#!/usr/bin/env bash
# df proxy --install containerd|podman|docker under a temporary root that holds the user's own
# files: --dry-run changes nothing; the install merges (df first, the user's hosts and settings
# kept, a backup each); a second run changes nothing; the written files work for real (ctr with the
# hosts dir, podman with the root's /etc/containers mounted as its own) and pull through df proxy;
# podman's search list stays; --uninstall gives back every file byte for byte and drops the backups;
# a daemon.json that is not JSON is refused and left alone.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../registry/lib.sh"
. "$(dirname "$0")/../proxy/lib.sh"
command -v curl >/dev/null || skip "curl not installed"
command -v python3 >/dev/null || skip "python3 not installed"

make_test_image "$T/img" df/test:v1 1
RP=$(free_port); start_registry "$RP"
push_image "$T/img" df/test:v1 "$RP" || fail "push: $OUT"
REG=127.0.0.1:$RP
start_proxy px --registry "http://$REG"
DEAD=$(free_port)

# the user's own files under the root
R=$T/root
mkdir -p "$R/etc/containerd/certs.d/$REG" "$R/etc/containers/registries.conf.d" "$R/etc/docker"
printf 'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n' \
  > "$R/etc/containerd/config.toml"
printf 'server = "http://%s"\n\n# our old mirror, gone\n[host."http://127.0.0.1:%s"]\n  capabilities = ["pull", "resolve"]\n' \
  "$REG" "$DEAD" > "$R/etc/containerd/certs.d/$REG/hosts.toml"
chmod 640 "$R/etc/containerd/certs.d/$REG/hosts.toml"
printf 'unqualified-search-registries = ["search.example"]\n\n[[registry]]\nlocation = "%s"\ninsecure = true\n' "$REG" \
  > "$R/etc/containers/registries.conf"
printf '{\n  "debug": true,\n  "registry-mirrors": [\n    "https://mirror.example"\n  ]\n}\n' > "$R/etc/docker/daemon.json"
snap() { (cd "$R" && find . -type f | sort | xargs sha256sum && find . -type f -printf '%p %m\n' | sort); }
snap > "$T/before"
ENG=(containerd podman docker)
args() { # ENGINE: docker mirrors Docker Hub only
  if [ "$1" = docker ]; then echo "--registry https://registry-1.docker.io"; else echo "--registry http://$REG"; fi
}

for e in "${ENG[@]}"; do
  # shellcheck disable=SC2046
  expect_rc 0 "$DF" proxy --install "$e" --root "$R" --listen "$M" $(args "$e") --dry-run
  expect_in "would write"
done
snap | cmp -s - "$T/before" || fail "--dry-run changed files: $(snap | diff "$T/before" -)"

for e in "${ENG[@]}"; do
  # shellcheck disable=SC2046
  expect_rc 0 "$DF" proxy --install "$e" --root "$R" --listen "$M" $(args "$e")
  expect_in "restart: "
  [ "$e" = podman ] || expect_in "kept the original as"
done
H=$R/etc/containerd/certs.d/$REG/hosts.toml
[ "$(head -n1 "$H")" = "server = \"http://$REG\"" ] || fail "the user's server line moved: $(cat "$H")"
awk '/^\[host\./ {print; exit}' "$H" | grep -qx "\[host.\"http://$M\"\]" || fail "df proxy is not the first host: $(cat "$H")"
grep -q "our old mirror, gone" "$H" || fail "the user's own host was lost: $(cat "$H")"
[ "$(stat -c %a "$H")" = 640 ] || fail "hosts.toml mode $(stat -c %a "$H")"
[ -f "$H.df-backup" ] && [ -f "$R/etc/docker/daemon.json.df-backup" ] || fail "no backups: $(find "$R" -name '*.df-backup')"
python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
assert d["registry-mirrors"] == ["http://" + sys.argv[2], "https://mirror.example"], d
assert d["debug"] is True, d' "$R/etc/docker/daemon.json" "$M" || fail "daemon.json: $(cat "$R/etc/docker/daemon.json")"
snap > "$T/installed"
for e in "${ENG[@]}"; do
  # shellcheck disable=SC2046
  expect_rc 0 "$DF" proxy --install "$e" --root "$R" --listen "$M" $(args "$e")
  expect_in "nothing to change"
done
snap | cmp -s - "$T/installed" || fail "a second install changed files: $(snap | diff "$T/installed" -)"

# containerd reads the merged hosts.toml: the pull goes through df proxy
start_containerd
before=$(proxy_stat "$PP" registry-requests)
CTR_HOSTS_DIR=$R/etc/containerd/certs.d ctr_fetch "$REG" df/test:v1 || fail "ctr with the installed hosts dir: $OUT"
[ "$PULLED_MANIFEST" = "$IMG_MANIFEST" ] || fail "ctr pulled $PULLED_MANIFEST"
[ "$(proxy_stat "$PP" blobs-p2p)" -ge 2 ] || fail "ctr did not pull through df proxy: $(curl -s "http://$M/v1/status")"

# podman with the root's /etc/containers as its own (a private mount namespace)
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null && [ -d /etc/containers ] && command -v podman >/dev/null; then
  podman_root() {
    local d=$T/podman-root
    mkdir -p "$d/tmp"
    printf '[engine]\nevents_logger = "file"\ncgroup_manager = "cgroupfs"\n' > "$d/containers.conf"
    CONTAINERS_CONF=$d/containers.conf TMPDIR=$d/tmp unshare -m --propagation private sh -c \
      'mount --bind "$0" /etc/containers && mount -t tmpfs -o size=64m tmpfs /var/lib &&
       mount -t tmpfs -o size=64m tmpfs /run && exec env -u CONTAINERS_REGISTRIES_CONF "$@"' \
      "$R/etc/containers" podman --root "$d/root" --runroot "$d/run" --tmpdir "$d/tmp" --storage-driver vfs "$@"
  }
  reg_authfile
  before=$(proxy_stat "$PP" manifests)
  OUT=$(podman_root pull --signature-policy "$REG_CT/policy.json" --authfile "$REG_AUTHFILE" "$REG/df/test:v1" 2>&1) ||
    fail "podman with the installed drop-in: $OUT"
  [ "$(proxy_stat "$PP" manifests)" -gt "$before" ] || fail "podman did not pull through df proxy: $OUT"
  OUT=$(podman_root info --format '{{range .Registries.search}}{{.}} {{end}}' 2>&1) || fail "podman info: $OUT"
  [ "$OUT" = "search.example " ] || fail "the drop-in changed podman's search list: '$OUT'"
else
  echo "podman part skipped: needs root, unshare -m, /etc/containers and podman"
fi

# uninstall: every file as it was, no backups left
for e in "${ENG[@]}"; do
  expect_rc 0 "$DF" proxy --install "$e" --root "$R" --listen "$M" --uninstall
done
snap | cmp -s - "$T/before" || fail "--uninstall did not restore the files: $(snap | diff "$T/before" -)"

# a daemon.json that is not JSON: refused, untouched
printf '{"debug": true,\n' > "$R/etc/docker/daemon.json"
expect_rc 1 "$DF" proxy --install docker --root "$R"
expect_in "daemon.json: line 2: expected a string: left as it is"
[ "$(cat "$R/etc/docker/daemon.json")" = '{"debug": true,' ] && [ ! -e "$R/etc/docker/daemon.json.df-backup" ] ||
  fail "a broken daemon.json was touched"
expect_rc 2 "$DF" proxy --install docker --root "$R" --registry "http://$REG"
expect_in "docker mirrors Docker Hub only"
pass "proxy install"
