# Container-image fixtures for integration tests: a test image made offline, a real registry on
# loopback, a redirecting front, blob counters and real pull clients (skopeo, containerd, podman).
# Sourced after test/lib.sh (it needs $T, free_port, wait_port, track, fail, skip, start_nginx).
# See test/registry/README.md for each function and the mirror configuration of each client.

# nginx workers run as nobody when the tests run as root; $T is mktemp's 0700 dir, so let them in.
chmod 755 "$T"

# Credentials start_registry's auth mode accepts (creds arguments take "user:password").
REG_USER=dfuser
REG_PASS=df-pass-1
REG_CREDS=$REG_USER:$REG_PASS

# Everything the containers tools (skopeo, podman) read or write stays under $T/containers: no
# ~/.config, no /etc/containers/registries.conf, no /run/containers/0/auth.json.
REG_CT=$T/containers
mkdir -p "$REG_CT"
printf '{"default": [{"type": "insecureAcceptAnything"}]}\n' > "$REG_CT/policy.json"
printf 'unqualified-search-registries = []\n' > "$REG_CT/registries.conf"
printf '{"auths": {}}\n' > "$REG_CT/auth.json"
export CONTAINERS_REGISTRIES_CONF=$REG_CT/registries.conf
# (not exported as REGISTRY_AUTH_FILE: docker-registry reads REGISTRY_* variables as its own config)
REG_AUTHFILE=$REG_CT/auth.json

# reg_private CMD ARGS...: runs CMD kept from writing outside $T. skopeo and podman, as root, keep
# a blob-info cache in /var/lib/containers/cache with no flag to move it, and podman makes
# /run/netns; so, where root may unshare, CMD runs in a private mount namespace with empty tmpfs
# over /var/lib and /run (neither tool reads anything there once podman's storage is given with
# --root/--runroot); their temporary files go to $T/containers/tmp.
reg_private() {
  mkdir -p "$REG_CT/tmp"
  if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
    TMPDIR=$REG_CT/tmp unshare -m --propagation private \
      sh -c 'mount -t tmpfs -o size=64m tmpfs /var/lib && mount -t tmpfs -o size=64m tmpfs /run && exec "$@"' reg_private "$@"
  else
    TMPDIR=$REG_CT/tmp "$@"
  fi
}

# reg_skopeo ARGS...: skopeo through reg_private
reg_skopeo() { reg_private skopeo "$@"; }

# _reg_blob FILE MEDIATYPE DIR: moves FILE into DIR/blobs/sha256/HEX; sets _DIGEST, _SIZE, _DESC
_reg_blob() {
  local hex
  hex=$(sha256sum "$1" | cut -d' ' -f1)
  _SIZE=$(stat -c %s "$1")
  _DIGEST=sha256:$hex
  mv "$1" "$3/blobs/sha256/$hex"
  _DESC="{\"mediaType\": \"$2\", \"digest\": \"$_DIGEST\", \"size\": $_SIZE}"
}

# _reg_layer SRC_DIR DIR: a reproducible tar.gz of SRC_DIR's content as a layer blob; sets
# _DIFFID (sha256 of the uncompressed tar) besides _reg_blob's outputs
_reg_layer() {
  local tmp=$2/layer.tmp
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu -C "$1" -cf "$tmp.tar" . \
    || fail "make_test_image: tar of $1 failed"
  _DIFFID=sha256:$(sha256sum "$tmp.tar" | cut -d' ' -f1)
  gzip -1 -n < "$tmp.tar" > "$tmp.gz" || fail "make_test_image: gzip failed"
  rm -f "$tmp.tar"
  _reg_blob "$tmp.gz" application/vnd.oci.image.layer.v1.tar+gzip "$2"
}

# make_test_image DIR NAME:TAG [LAYER_MB]: an OCI image layout in DIR holding NAME:TAG (tag TAG in
# index.json): a big layer (LAYER_MB MiB of random data, default 20, as /df/big.bin), a small layer
# (/df/hello.txt) and a config. Sets IMG_MANIFEST, IMG_CONFIG, IMG_BIG, IMG_SMALL (digests),
# IMG_LAYERS (both layer digests), IMG_DIFFIDS, IMG_HELLO (hello.txt's content), IMG_BYTES (sum of
# the blob sizes); records them in DIR.env too (outside the layout: a shell file to source).
make_test_image() {
  local dir=$1 ref=$2 mb=${3:-20}
  local name=${ref%:*} tag=${ref##*:}
  [ "$name" != "$ref" ] || fail "make_test_image: '$ref' is not NAME:TAG"
  rm -rf "$dir" "$dir.env"
  mkdir -p "$dir/blobs/sha256" "$dir/src/big/df" "$dir/src/small/df"
  head -c $(( mb * 1048576 )) /dev/urandom > "$dir/src/big/df/big.bin"
  IMG_HELLO="hello from the df test image $ref $(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  echo "$IMG_HELLO" > "$dir/src/small/df/hello.txt"
  local big small
  _reg_layer "$dir/src/big" "$dir";   big=$_DESC;   IMG_BIG=$_DIGEST;   IMG_DIFFIDS=$_DIFFID
  IMG_BYTES=$_SIZE
  _reg_layer "$dir/src/small" "$dir"; small=$_DESC; IMG_SMALL=$_DIGEST; IMG_DIFFIDS="$IMG_DIFFIDS $_DIFFID"
  IMG_BYTES=$(( IMG_BYTES + _SIZE ))
  rm -rf "$dir/src"
  IMG_LAYERS="$IMG_BIG $IMG_SMALL"
  cat > "$dir/config.tmp" <<JSON
{"architecture": "amd64", "os": "linux", "created": "1970-01-01T00:00:00Z",
 "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["/df/hello.txt"],
            "Labels": {"org.example.df.test": "$name"}},
 "rootfs": {"type": "layers", "diff_ids": ["${IMG_DIFFIDS% *}", "${IMG_DIFFIDS#* }"]},
 "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "df make_test_image: big layer"},
             {"created": "1970-01-01T00:00:00Z", "created_by": "df make_test_image: small layer"}]}
JSON
  _reg_blob "$dir/config.tmp" application/vnd.oci.image.config.v1+json "$dir"
  IMG_CONFIG=$_DIGEST; IMG_BYTES=$(( IMG_BYTES + _SIZE ))
  local config=$_DESC
  cat > "$dir/manifest.tmp" <<JSON
{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
 "config": $config,
 "layers": [$big, $small]}
JSON
  _reg_blob "$dir/manifest.tmp" application/vnd.oci.image.manifest.v1+json "$dir"
  IMG_MANIFEST=$_DIGEST
  printf '{"imageLayoutVersion": "1.0.0"}\n' > "$dir/oci-layout"
  cat > "$dir/index.json" <<JSON
{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
 "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "$IMG_MANIFEST", "size": $_SIZE,
                "annotations": {"org.opencontainers.image.ref.name": "$tag"},
                "platform": {"architecture": "amd64", "os": "linux"}}]}
JSON
  local v
  for v in IMG_MANIFEST IMG_CONFIG IMG_BIG IMG_SMALL IMG_LAYERS IMG_DIFFIDS IMG_HELLO IMG_BYTES; do
    printf '%s=%q\n' "$v" "${!v}"
  done > "$dir.env"
}

# add_index_tag DIR TAG: adds to make_test_image's layout DIR a multi-platform image under tag TAG:
# an OCI index of the linux/amd64 manifest (IMG_MANIFEST) and a linux/arm64 one with its own config
# and one small layer of its own. Sets IMG_INDEX (the index's digest), IMG_ARM_MANIFEST,
# IMG_ARM_CONFIG, IMG_ARM_LAYER. Push it with push_image DIR NAME:TAG PORT "" --all.
add_index_tag() {
  local dir=$1 tag=$2 amd_size arm_size
  amd_size=$(stat -c %s "$dir/blobs/sha256/${IMG_MANIFEST#sha256:}")
  mkdir -p "$dir/src/arm/df"
  echo "arm64 only $(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')" > "$dir/src/arm/df/arm.txt"
  _reg_layer "$dir/src/arm" "$dir"; local layer=$_DESC; IMG_ARM_LAYER=$_DIGEST
  rm -rf "$dir/src"
  cat > "$dir/config.tmp" <<JSON
{"architecture": "arm64", "os": "linux", "created": "1970-01-01T00:00:00Z", "config": {"Cmd": ["/df/arm.txt"]},
 "rootfs": {"type": "layers", "diff_ids": ["$_DIFFID"]}}
JSON
  _reg_blob "$dir/config.tmp" application/vnd.oci.image.config.v1+json "$dir"; local config=$_DESC; IMG_ARM_CONFIG=$_DIGEST
  cat > "$dir/manifest.tmp" <<JSON
{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": $config, "layers": [$layer]}
JSON
  _reg_blob "$dir/manifest.tmp" application/vnd.oci.image.manifest.v1+json "$dir"
  IMG_ARM_MANIFEST=$_DIGEST; arm_size=$_SIZE
  cat > "$dir/index.tmp" <<JSON
{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
 "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "$IMG_MANIFEST", "size": $amd_size,
                "platform": {"architecture": "amd64", "os": "linux"}},
               {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "$IMG_ARM_MANIFEST", "size": $arm_size,
                "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}}]}
JSON
  _reg_blob "$dir/index.tmp" application/vnd.oci.image.index.v1+json "$dir"
  IMG_INDEX=$_DIGEST
  # index.json gets the tag next to make_test_image's own
  local entry="{\"mediaType\": \"application/vnd.oci.image.index.v1+json\", \"digest\": \"$IMG_INDEX\", \"size\": $_SIZE, \"annotations\": {\"org.opencontainers.image.ref.name\": \"$tag\"}}"
  jq -c --argjson e "$entry" '.manifests += [$e]' "$dir/index.json" > "$dir/index.json.tmp" && mv "$dir/index.json.tmp" "$dir/index.json" \
    || fail "add_index_tag: jq failed"
}

# registry_dir PORT: the folder of the registry started on PORT (config.yml, storage/, logs)
registry_dir() { echo "$T/registry-$1"; }

# start_registry PORT [auth]: docker-registry (CNCF distribution 2.8) on http://127.0.0.1:PORT with
# filesystem storage in $(registry_dir PORT)/storage; its access log (combined format, on its
# stdout) goes to access.log there, its own log (stderr) to registry.log. With "auth", htpasswd
# (bcrypt) basic auth for $REG_USER / $REG_PASS: the registry accepts it over plain http.
start_registry() {
  local port=$1 auth=${2:-}
  command -v docker-registry >/dev/null || skip "docker-registry not installed (bash .ci/install)"
  local d; d=$(registry_dir "$port")
  mkdir -p "$d/storage"
  cat > "$d/config.yml" <<YML
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: $d/storage
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  secret: df-test-secret
  headers:
    X-Content-Type-Options: [nosniff]
YML
  if [ "$auth" = auth ]; then
    command -v htpasswd >/dev/null || skip "htpasswd not installed (apache2-utils; bash .ci/install)"
    htpasswd -Bbn "$REG_USER" "$REG_PASS" > "$d/htpasswd" || fail "htpasswd failed"
    printf 'auth:\n  htpasswd:\n    realm: df-test\n    path: %s\n' "$d/htpasswd" >> "$d/config.yml"
  elif [ -n "$auth" ]; then
    fail "start_registry: unknown mode '$auth'"
  fi
  docker-registry serve "$d/config.yml" > "$d/access.log" 2> "$d/registry.log" &
  track $!
  wait_port "$port"
}

# access_log PORT: the combined-format access log of the registry or nginx listening on PORT
access_log() {
  if [ -d "$T/registry-$1" ]; then echo "$T/registry-$1/access.log"; else echo "$T/nginx-$1/access.log"; fi
}

# blob_counts LOG: for each blob served with 200/206 to a GET, one line "sha256:HEX COUNT BYTES"
# (requests, body bytes), sorted. Knows registry paths (/v2/NAME/blobs/sha256:HEX) and storage paths
# (.../blobs/sha256/XX/HEX/data) as the redirect front's blob server sees them. HEADs, redirects
# and errors are not counted.
blob_counts() {
  [ -f "$1" ] || { echo "blob_counts: no log $1" >&2; return 1; }
  awk '$6 == "\"GET" && ($9 == 200 || $9 == 206) {print $7, $10}' "$1" |
    sed -nE 's#^[^ ]*/blobs/sha256(:|/[0-9a-f]{2}/)([0-9a-f]{64})([/?][^ ]*)? ([0-9]+)$#sha256:\2 \4#p' |
    awk '{c[$1]++; b[$1] += $2} END {for (d in c) print d, c[d], b[d]}' | sort
}

# blob_served LOG DIGEST: how many GETs of DIGEST got a 200/206 (0 if none)
blob_served() { blob_counts "$1" | awk -v d="$2" '$1 == d {n = $2} END {print n + 0}'; }

# blob_bytes LOG DIGEST: body bytes sent for DIGEST over those GETs
blob_bytes() { blob_counts "$1" | awk -v d="$2" '$1 == d {n = $3} END {print n + 0}'; }

# blob_redirects LOG DIGEST: how many requests for DIGEST were answered with a 307
blob_redirects() {
  awk -v d="${2#sha256:}" '$9 == 307 && index($7, "/blobs/sha256:" d) {n++} END {print n + 0}' "$1"
}

# wait_count N FUNC ARGS...: prints FUNC ARGS's number once it reaches N, or after 5 s whatever it
# is then. Servers write an access-log line after the last byte went out, so a client can exit a
# moment before its requests are logged: a test that just ran a pull asks for counts through this.
# (It only waits for the count to come up; a count above N is returned as it is.)
wait_count() {
  local want=$1 i n; shift
  for i in $(seq 100); do
    n=$("$@")
    [ "$n" -ge "$want" ] && break
    sleep 0.05
  done
  echo "$n"
}

# push_image OCI_DIR NAME:TAG PORT [CREDS] [--all]: skopeo copies tag TAG of OCI_DIR to
# 127.0.0.1:PORT/NAME:TAG over plain http, digests preserved (--all: an index with every platform's
# image, as add_index_tag makes). Output in $OUT; returns skopeo's code.
push_image() {
  local dir=$1 ref=$2 port=$3 creds=${4:-} all=${5:-}
  command -v skopeo >/dev/null || skip "skopeo not installed (bash .ci/install)"
  reg_authfile
  OUT=$(reg_skopeo --policy "$REG_CT/policy.json" copy $all --preserve-digests --dest-tls-verify=false --dest-authfile "$REG_AUTHFILE" \
        ${creds:+--dest-creds "$creds"} "oci:$dir:${ref##*:}" "docker://127.0.0.1:$port/$ref" 2>&1)
}

# start_redirect_front PORT REGISTRY_PORT: nginx on PORT in front of the registry, the way registries
# with object storage behave: a blob GET gets a 307 to a second nginx (on $REDIRECT_BLOB_PORT) that
# serves .../docker/registry/v2/blobs/sha256/XX/HEX/data straight from the registry's storage;
# everything else (manifests, HEAD, pushes, /v2/, auth) is proxied to the registry. The redirect
# carries no credentials (like a pre-signed URL). Logs: access_log PORT, access_log $REDIRECT_BLOB_PORT.
start_redirect_front() {
  local port=$1 rport=$2
  REDIRECT_BLOB_PORT=$(free_port)
  while [ "$REDIRECT_BLOB_PORT" = "$port" ]; do REDIRECT_BLOB_PORT=$(free_port); done
  start_nginx "$(registry_dir "$rport")/storage" "$REDIRECT_BLOB_PORT" "default_type application/octet-stream;"
  start_nginx "$T" "$port" "
    client_max_body_size 0; proxy_request_buffering off; proxy_buffering off; proxy_http_version 1.1;
    proxy_set_header Host \$http_host; proxy_set_header X-Forwarded-Proto http;
    location ~ \"^/v2/.+/blobs/sha256:(?<hex>(?<pre>[0-9a-f]{2})[0-9a-f]{62})\$\" {
      if (\$request_method = GET) {
        return 307 http://127.0.0.1:$REDIRECT_BLOB_PORT/docker/registry/v2/blobs/sha256/\$pre/\$hex/data;
      }
      proxy_pass http://127.0.0.1:$rport;
    }
    location / { proxy_pass http://127.0.0.1:$rport; }"
}

# reg_authfile [CREDS HOST...]: rewrites $REG_AUTHFILE (the auth.json skopeo and podman get) with
# CREDS for each HOST, or with no credentials at all. containers/image sends a --creds flag's
# credentials to the registry itself only, never to its mirrors: a mirror's credentials come from
# the auth file under the mirror's own host:port (what `podman login MIRROR` writes).
reg_authfile() {
  local creds=${1:-} h sep=
  shift || true
  {
    printf '{"auths": {'
    if [ -n "$creds" ]; then
      for h in "$@"; do
        printf '%s"%s": {"auth": "%s"}' "$sep" "$h" "$(printf %s "$creds" | base64 -w0)"; sep=', '
      done
    fi
    printf '}}\n'
  } > "$REG_AUTHFILE"
}

# registries_conf FILE REGISTRY [MIRROR]: a registries.conf (v2) for skopeo and podman: REGISTRY
# (host:port) reached over plain http, and MIRROR (host:port) tried first for every pull when given.
registries_conf() {
  {
    echo 'unqualified-search-registries = []'
    echo
    echo '[[registry]]'
    echo "location = \"$2\""
    echo 'insecure = true'
    if [ -n "${3:-}" ]; then
      echo
      echo '[[registry.mirror]]'
      echo "location = \"$3\""
      echo 'insecure = true'
    fi
  } > "$1"
}

# verify_oci_dir DIR: every blob in OCI layout DIR matches its sha256 name and every digest the
# manifest names is present. Sets PULLED_MANIFEST (the manifest digest index.json names); on a
# mismatch appends the reason to $OUT and returns 1.
verify_oci_dir() {
  local f hex d
  PULLED_MANIFEST=
  for f in "$1"/blobs/sha256/*; do
    hex=$(sha256sum "$f" | cut -d' ' -f1)
    [ "$hex" = "$(basename "$f")" ] || { OUT+=$'\n'"blob $(basename "$f") has sha256 $hex"; return 1; }
  done
  PULLED_MANIFEST=$(grep -oE 'sha256:[0-9a-f]{64}' "$1/index.json" | head -n1)
  [ -n "$PULLED_MANIFEST" ] || { OUT+=$'\n'"$1/index.json names no manifest"; return 1; }
  for d in $(grep -ohE 'sha256:[0-9a-f]{64}' "$1/blobs/sha256/${PULLED_MANIFEST#sha256:}"); do
    [ -f "$1/blobs/sha256/${d#sha256:}" ] || { OUT+=$'\n'"$d named by the manifest is missing"; return 1; }
  done
}

# skopeo_pull REGISTRY NAME:TAG OUT [MIRROR] [CREDS]: skopeo copies docker://REGISTRY/NAME:TAG to
# the OCI layout OUT (tag TAG) with a registries.conf in $T naming MIRROR as the registry's mirror
# (none: direct), then verifies every blob's sha256 (verify_oci_dir). Sets PULLED_MANIFEST; output
# in $OUT; returns non-zero if the pull or the check failed.
skopeo_pull() {
  local reg=$1 ref=$2 out=$3 mirror=${4:-} creds=${5:-}
  command -v skopeo >/dev/null || skip "skopeo not installed (bash .ci/install)"
  local conf=$REG_CT/skopeo-registries.conf
  registries_conf "$conf" "$reg" "$mirror"
  reg_authfile "$creds" "$reg" $mirror
  rm -rf "$out"
  OUT=$(reg_skopeo --registries-conf "$conf" --policy "$REG_CT/policy.json" copy --src-authfile "$REG_AUTHFILE" \
        "docker://$reg/$ref" "oci:$out:${ref##*:}" 2>&1) || return 1
  verify_oci_dir "$out"
}

# containerd_sock: the socket of the containerd start_containerd started
containerd_sock() { echo "$T/containerd/containerd.sock"; }

# start_containerd: containerd as root with config, root, state and socket under $T/containerd (no
# system service, CRI and kernel-specific snapshotters off), log in $T/containerd/containerd.log.
# Skips the test with the reason when containerd is missing or does not come up.
start_containerd() {
  command -v containerd >/dev/null && command -v ctr >/dev/null || skip "containerd not installed (bash .ci/install)"
  [ "$(id -u)" = 0 ] || skip "containerd needs root"
  local d=$T/containerd
  mkdir -p "$d"
  cat > "$d/config.toml" <<TOML
version = 2
root = "$d/root"
state = "$d/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "$d/containerd.sock"
[ttrpc]
  address = "$d/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$d/opt"
TOML
  containerd --config "$d/config.toml" > "$d/containerd.log" 2>&1 &
  track $!
  local i
  for i in $(seq 200); do
    ctr --address "$d/containerd.sock" version >/dev/null 2>&1 && return 0
    kill -0 $! 2>/dev/null || break
    sleep 0.05
  done
  skip "containerd did not come up: $(tail -n 3 "$d/containerd.log" | tr '\n' ' ')"
}

# containerd_hosts_dir REGISTRY [MIRROR]: a hosts dir (printed) for ctr --hosts-dir whose
# REGISTRY/hosts.toml sends pulls and resolves to MIRROR first and falls back to REGISTRY, all
# over plain http
containerd_hosts_dir() {
  local reg=$1 mirror=${2:-}
  local d=$T/containerd/hosts-${mirror:-direct}
  mkdir -p "$d/$reg"
  {
    echo "server = \"http://$reg\""
    if [ -n "$mirror" ]; then
      echo
      echo "[host.\"http://$mirror\"]"
      echo '  capabilities = ["pull", "resolve"]'
    fi
  } > "$d/$reg/hosts.toml"
  echo "$d"
}

# ctr_fetch REGISTRY NAME:TAG [MIRROR] [CREDS]: ctr content fetch (no snapshotter, no unpack) of
# REGISTRY/NAME:TAG into start_containerd's content store through MIRROR (none: direct), after
# removing every image (and so, by containerd's GC, its content) from the dftest namespace so that
# every blob is fetched again; then checks every blob of the image in the store against its sha256
# (ctr content get | sha256sum). Sets PULLED_MANIFEST; output in $OUT; returns non-zero if the
# fetch or the check failed.
ctr_fetch() { _ctr_get "content fetch" "$@"; }

# (With CTR_HOSTS_DIR set, ctr_fetch and ctr_pull use that hosts dir instead of writing one: a test
# of the files df proxy --print-config/--install writes.)

# ctr_pull REGISTRY NAME:TAG [MIRROR] [CREDS]: as ctr_fetch, with ctr images pull: the layers are
# also unpacked into containerd's native snapshotter (plain directories, no overlayfs needed)
ctr_pull() { _ctr_get "images pull --snapshotter native" "$@"; }

# ctr_cmd ARGS...: ctr on start_containerd's socket, namespace dftest
ctr_cmd() { ctr --address "$(containerd_sock)" --namespace dftest "$@"; }

# _ctr_get "CTR SUBCOMMAND" REGISTRY NAME:TAG [MIRROR] [CREDS]: ctr_fetch and ctr_pull
_ctr_get() {
  local how=$1 reg=$2 ref=$3 mirror=${4:-} creds=${5:-}
  local hosts d got
  hosts=${CTR_HOSTS_DIR:-$(containerd_hosts_dir "$reg" "$mirror")}
  # the store is content-addressed: the same blobs under another name would not be fetched again
  local old; old=$(ctr_cmd images ls -q)
  [ -z "$old" ] || ctr_cmd images rm --sync $old >/dev/null 2>&1
  PULLED_MANIFEST=
  # $how is two or three words on purpose
  # shellcheck disable=SC2086
  OUT=$(ctr_cmd $how --hosts-dir "$hosts" ${creds:+--user "$creds"} "$reg/$ref" 2>&1) || return 1
  PULLED_MANIFEST=$(ctr_cmd images ls | awk -v r="$reg/$ref" '$1 == r {print $3}')
  [ -n "$PULLED_MANIFEST" ] || { OUT+=$'\n'"no image $reg/$ref in containerd after the fetch"; return 1; }
  for d in $PULLED_MANIFEST $(ctr_cmd content get "$PULLED_MANIFEST" | grep -oE 'sha256:[0-9a-f]{64}'); do
    got=sha256:$(ctr_cmd content get "$d" | sha256sum | cut -d' ' -f1)
    [ "$got" = "$d" ] || { OUT+=$'\n'"blob $d in containerd's store has $got"; return 1; }
  done
}

# podman_pull REGISTRY NAME:TAG [MIRROR] [CREDS]: podman pull as root with vfs storage under
# $T/podman (made anew each time, so every blob is fetched again; no system storage, cgroupfs, file
# events) and a registries.conf naming MIRROR as the registry's mirror. Sets PULLED_MANIFEST (the
# image's digest) and PULLED_DIFFIDS (its layers' diff ids); output in $OUT; returns non-zero if
# the pull failed.
podman_pull() {
  local reg=$1 ref=$2 mirror=${3:-} creds=${4:-}
  command -v podman >/dev/null || skip "podman not installed (bash .ci/install)"
  local d=$T/podman
  rm -rf "$d/root" "$d/run" "$d/tmp"   # a fresh store, so every blob is fetched again
  mkdir -p "$d/tmp"
  registries_conf "$d/registries.conf" "$reg" "$mirror"
  printf '[engine]\nevents_logger = "file"\ncgroup_manager = "cgroupfs"\n' > "$d/containers.conf"
  reg_authfile "$creds" "$reg" $mirror
  OUT=$(podman_cmd pull --signature-policy "$REG_CT/policy.json" --authfile "$REG_AUTHFILE" "$reg/$ref" 2>&1) || return 1
  PULLED_MANIFEST=$(podman_cmd image inspect --format '{{.Digest}}' "$reg/$ref" 2>&1) || { OUT="$OUT"$'\n'"$PULLED_MANIFEST"; return 1; }
  PULLED_DIFFIDS=$(podman_cmd image inspect --format '{{range .RootFS.Layers}}{{.}} {{end}}' "$reg/$ref" 2>&1)
}

# podman_cmd ARGS...: podman with podman_pull's storage and configuration
podman_cmd() {
  local d=$T/podman
  CONTAINERS_REGISTRIES_CONF=$d/registries.conf CONTAINERS_CONF=$d/containers.conf \
    reg_private podman --root "$d/root" --runroot "$d/run" --tmpdir "$d/tmp" --storage-driver vfs "$@"
}
