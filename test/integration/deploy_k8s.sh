#!/usr/bin/env bash
# deploy/k8s/*.yaml: each file parses as Kubernetes objects (kubectl create --dry-run=client, with a
# kubeconfig pointing nowhere and the API discovery answered from a local cache, so no cluster is
# asked and nothing leaves the machine); the proxies' supernode list names the StatefulSet's pods;
# the install step writes into the node's directory it mounts (config_path in /etc/containerd);
# and every container's command line is one the df binary accepts: the install init step is run
# with --dry-run and then for real under a temporary --root, every other one is parsed with --help
# appended (an unknown or renamed flag, or a bad number or size, fails). kubectl (Debian's kubernetes-client)
# and python3-yaml are required: .ci/install installs them; without them this test fails.
. "$(dirname "$0")/../lib.sh"
command -v kubectl >/dev/null || fail "kubectl not installed (Debian package kubernetes-client; .ci/install)"
python3 -c 'import yaml' 2>/dev/null || fail "python3 yaml module not installed (Debian package python3-yaml; .ci/install)"
K8S=${K8S_DIR:-$top/deploy/k8s}
mapfile -t FILES < <(ls "$K8S"/*.yaml)
[ ${#FILES[@]} -ge 3 ] || fail "expected the manifests in $K8S, found: ${FILES[*]}"

# kubectl maps kinds to resources through the API server's discovery; a cache of it for the kinds
# the manifests use stands in for the server (KUBECONFIG=/dev/null: the default server, loopback:8080,
# which nothing answers if the cache ever misses)
C=$T/kcache/discovery/localhost_8080
mkdir -p "$C/v1" "$C/apps/v1"
cat > "$C/servergroups.json" <<'J'
{"kind":"APIGroupList","apiVersion":"v1","groups":[
 {"name":"","versions":[{"groupVersion":"v1","version":"v1"}],"preferredVersion":{"groupVersion":"v1","version":"v1"}},
 {"name":"apps","versions":[{"groupVersion":"apps/v1","version":"v1"}],"preferredVersion":{"groupVersion":"apps/v1","version":"v1"}}]}
J
cat > "$C/v1/serverresources.json" <<'J'
{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"v1","resources":[
 {"name":"namespaces","singularName":"","namespaced":false,"kind":"Namespace","verbs":["create","get"]},
 {"name":"services","singularName":"","namespaced":true,"kind":"Service","verbs":["create","get"]},
 {"name":"secrets","singularName":"","namespaced":true,"kind":"Secret","verbs":["create","get"]},
 {"name":"configmaps","singularName":"","namespaced":true,"kind":"ConfigMap","verbs":["create","get"]}]}
J
cat > "$C/apps/v1/serverresources.json" <<'J'
{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"apps/v1","resources":[
 {"name":"statefulsets","singularName":"","namespaced":true,"kind":"StatefulSet","verbs":["create","get"]},
 {"name":"daemonsets","singularName":"","namespaced":true,"kind":"DaemonSet","verbs":["create","get"]}]}
J
# and, where an unprivileged network namespace can be made, kubectl runs in one: no network at all
NONET=(); unshare -rn true 2>/dev/null && NONET=(unshare -rn)
kube() { HOME=$T KUBECONFIG=/dev/null timeout 60 "${NONET[@]}" kubectl --cache-dir "$T/kcache" --request-timeout=5s "$@"; }
for f in "${FILES[@]}"; do
  OUT=$(kube create --dry-run=client --validate=false -f "$f" 2>&1) || fail "kubectl create --dry-run=client -f ${f#"$top"/}: $OUT"
  grep -q '(dry run)' <<<"$OUT" || fail "kubectl created nothing from ${f#"$top"/}: $OUT"
  ! grep -qi 'localhost:8080\|connection refused' <<<"$OUT" || fail "kubectl tried a server for ${f#"$top"/}: $OUT"
  pass "kubectl parses ${f#"$top"/}: $(tr '\n' ' ' <<<"$OUT")"
done
# what must be there: the headless Service, the StatefulSet, the DaemonSet with its init step
ALL=$(cat "${FILES[@]}")
for want in 'clusterIP: None' 'kind: StatefulSet' 'kind: DaemonSet' 'hostNetwork: true' 'initContainers:' \
            'prometheus.io/scrape: "true"' 'secretName: df-cluster'; do
  grep -qF "$want" <<<"$ALL" || fail "no '$want' in deploy/k8s"
done

# each container's command line, checked by the binary
mkdir -p "$T/cmds"
OUT=$(python3 "$top/test/tools/k8s_commands.py" "$T/cmds" "${FILES[@]}" 2>&1) || fail "$OUT"
export DF_CONFIG=/dev/null
n=0
for c in "$T"/cmds/*.name; do
  f=${c%.name}; where=$(cat "$c")
  mapfile -d '' -t argv < "$f"
  [ "${argv[0]}" = /usr/local/bin/df ] || fail "$where runs ${argv[0]}, not /usr/local/bin/df"
  args=("${argv[@]:1}")
  if printf '%s\n' "${args[@]}" | grep -q '^--install'; then
    # a node whose containerd 1 has its CRI read certs.d (kubeadm's and most node images' setting)
    R=$T/root$n; mkdir -p "$R/etc/containerd"
    printf 'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n' \
      > "$R/etc/containerd/config.toml"
    a=(); for x in "${args[@]}"; do case $x in --root=*) a+=("--root=$R") ;; *) a+=("$x") ;; esac; done
    printf '%s\n' "${args[@]}" | grep -q '^--root=/host$' || fail "$where: the install step does not write below --root=/host"
    OUT=$("$DF" "${a[@]}" --dry-run 2>&1) || fail "$where: df ${a[*]} --dry-run: $OUT"
    [ -z "$(find "$R" -type f ! -name config.toml)" ] || fail "$where: --dry-run wrote $(find "$R" -type f ! -name config.toml)"
    OUT=$("$DF" "${a[@]}" 2>&1) || fail "$where: df ${a[*]}: $OUT"
    ht=$(find "$R/etc/containerd/certs.d" -name hosts.toml 2>/dev/null | head -n 1)
    [ -n "$ht" ] || fail "$where: no hosts.toml under $R/etc/containerd/certs.d: $OUT"
    L=$(printf '%s\n' "${args[@]}" | sed -n 's/^--listen=//p')
    grep -qF "[host.\"http://${L:-127.0.0.1:65001}\"]" "$ht" || fail "$where: hosts.toml names no mirror at ${L:-127.0.0.1:65001}: $(cat "$ht")"
    grep -q 'config_path /etc/containerd/certs.d' <<<"$OUT" || fail "$where: the install did not read the node's config_path: $OUT"
    # written below the root where the container mounts the node's directory, not into its own file system
    node=${ht#"$R"}; under=
    while read -r m; do case $m in /host/*) [[ $node == "${m#/host}"* ]] && under=$m ;; esac; done < "$f.mounts"
    [ -n "$under" ] || fail "$where: wrote $node (as /host$node), under none of its volume mounts: $(tr '\n' ' ' < "$f.mounts")"
    OUT=$("$DF" "${a[@]}" 2>&1) || fail "$where: second install: $OUT"
    grep -q '^nothing to change' <<<"$OUT" || fail "$where: a second install changed something: $OUT"
    pass "$where: df ${args[*]} writes ${ht#"$R"}"
  else
    OUT=$("$DF" "${args[@]}" --help 2>&1 >/dev/null) || fail "$where: df ${args[*]} is refused: $OUT"
    [ -z "$OUT" ] || fail "$where: df ${args[*]} says: $OUT"
    pass "$where: df accepts ${args[*]}"
  fi
  n=$((n + 1))
done
[ "$n" -ge 3 ] || fail "only $n containers found in deploy/k8s"
# and a flag the binary lacks is caught by the same check (the check itself works)
OUT=$("$DF" supernode --no-such-flag=1 --help 2>&1 >/dev/null) && fail "df supernode accepted --no-such-flag"
pass "$n container command lines accepted by $DF"
