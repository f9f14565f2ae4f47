#!/usr/bin/env bash
# A source that does not serve ranges and cuts its first answers short (a connection lost
# mid-file): the fetch is retried, from the start since the source can only send the whole file,
# the pieces already stored are skipped, and the file comes out right, through the supernode and
# straight. Before, a source without ranges had no retry: the first cut failed the task at once
# ("closed the connection after 1048576 of 4194304 bytes"). A source whose retried answer names
# another version (ETag) fails with that cause instead of mixing two versions.
# The source is a small Python server: nginx cannot cut chosen answers short.
. "$(dirname "$0")/../lib.sh"
cd "$T"
command -v python3 >/dev/null || skip "python3 not installed"
head -c $((4 << 20)) /dev/urandom > f
want=$(sha f)
cat > cut.py <<'PY'
import socket, sys, threading
port, path, cuts, etag_after = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
body = open(path, "rb").read()
served = [0]
lock = threading.Lock()
def handle(c):
    try:
        if not c.recv(65536):
            c.close()  # a port check (wait_port), not a request
            return
        with lock:
            served[0] += 1
            n = served[0]
        etag = '"v1"' if etag_after == "-" or n <= int(etag_after) else '"v2"'
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nETag: %s\r\nConnection: close\r\n\r\n"
                  % (len(body), etag.encode()))
        c.sendall(body[: 1 << 20] if n <= cuts else body)  # the first CUTS answers end after 1 MiB
    except OSError:
        pass
    c.close()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(16)
while True:
    threading.Thread(target=handle, args=(s.accept()[0],), daemon=True).start()
PY
# source NAME CUTS ETAG_AFTER: a cutting source on port $HP (ETag "v2" after that many answers; - never)
source() {
  HP=$(free_port)
  python3 cut.py "$HP" f "$2" "$3" &
  track $!
  wait_port "$HP"
}
SP=$(free_port); start_supernode sn "$SP"

source a 2 -
DEADLINE=60 expect_rc 0 "$DF" get "http://127.0.0.1:$HP/f" -O out1 --supernode "127.0.0.1:$SP" --data "$T/c1" --seed-idle 0
[ "$(sha out1)" = "$want" ] || fail "through the supernode: wrong bytes"
grep -q "retrying from byte 0 (1 of 3)" sn.log || fail "the supernode did not retry: $(tail -3 sn.log)"

source b 2 -
DEADLINE=60 expect_rc 0 "$DF" get "http://127.0.0.1:$HP/f" -O out2 --data "$T/c2"
[ "$(sha out2)" = "$want" ] || fail "straight: wrong bytes"
expect_in "retrying from byte 0"

# the retried answer is another version: no mix, the cause
source c 1 1
DEADLINE=60 expect_rc 1 "$DF" get "http://127.0.0.1:$HP/f" -O out3 --data "$T/c3"
expect_in "names another version"
[ ! -e out3 ] || fail "a get that failed left its output"
pass "source_no_ranges_retry"
