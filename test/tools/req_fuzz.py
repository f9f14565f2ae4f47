#!/usr/bin/env python3
"""Request-level fuzzer for live df processes (test/integration/req_fuzz.sh drives it).

Sends a bounded stream of random and mutated HTTP requests -- valid heads with garbage bodies,
mutated valid bodies, broken framing, truncated and slow requests, with the right token, a wrong
one or none -- to each target for a fixed time, one connection at a time, every socket operation
under a timeout. Deterministic for a given --seed (up to the servers' timing).

Safety: df processes fetch the URLs they are given (registrations, pushes, the HTTP proxy's
absolute-form targets, CONNECT). Every request is checked before it is sent: any "scheme://" in it
must name one of the --allow hosts, and CONNECT only goes to those; a request that breaks this is
not sent (counted as "dropped"). So no request makes df dial beyond loopback.

usage: req_fuzz.py --seed N --seconds S --token T --allow 127.0.0.1:PORT ... KIND=HOST:PORT ...
KIND is one of supernode, front (df proxy's registry mirror / HTTP proxy), piece, push.
Extra: --task ID (a real task id for piece and control requests), --digest sha256:HEX.
Prints one summary line per target: requests sent, answers by status class, connections refused.
Exits 1 when a target stops accepting connections (the shell script checks the processes too).
"""
import argparse
import random
import re
import socket
import sys
import time

METHODS = ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "get", "G\x00T", "", "X" * 300]
VERSIONS = ["HTTP/1.1", "HTTP/1.0", "HTTP/1.2", "HTTP/2.0", "HTTP/1", "http/1.1", "", "HTTP/1.1 junk"]
HEX = "0123456789abcdef"


class Gen:
    def __init__(self, rnd, a):
        self.r = rnd
        self.a = a
        self.task = a.task or "".join(rnd.choice(HEX) for _ in range(64))
        self.digest = a.digest or "sha256:" + "".join(rnd.choice(HEX) for _ in range(64))
        self.src = "http://%s/f" % a.allow[0]

    # ---- building blocks ----
    def garbage(self, n=None):
        r = self.r
        n = r.choice([0, 1, 2, 7, 64, 500, 4096, 4096, 70000]) if n is None else n
        kind = r.randrange(4)
        if kind == 0:
            return r.randbytes(n)
        if kind == 1:
            return bytes(r.choices(b"abc:\n\r \t0123456789-/", k=n))
        if kind == 2:
            return b"\n" * n
        return (b"key: value\n" * (n // 11 + 1))[:n]

    def mutate(self, b):
        r = self.r
        b = bytearray(b)
        for _ in range(r.choice([1, 1, 2, 4, 16])):
            op = r.randrange(7)
            i = r.randrange(len(b) + 1)
            if op == 0 and b:
                b[min(i, len(b) - 1)] = r.randrange(256)
            elif op == 1:
                b[i:i] = bytes([r.choice(b"\x00\r\n:\t %")])
            elif op == 2:
                del b[i:i + r.randrange(1, 40)]
            elif op == 3 and b:
                j = r.randrange(len(b))
                b[i:i] = b[j:j + r.randrange(1, 200)] * r.choice([1, 2, 50])
            elif op == 4:
                b[i:i] = str(r.choice([-1, 0, 2**31, 2**63, 2**64 + 1, 10**30])).encode()
            elif op == 5:
                b[i:i] = self.garbage(r.choice([1, 7, 64]))
            else:
                b = b[:i]
        return bytes(b)

    def token_header(self):
        r = self.r.random()
        if r < 0.6:
            return "X-DF-Token: %s\r\n" % self.a.token
        if r < 0.75:
            return "X-DF-Token: wrong\r\n"
        if r < 0.8:
            return "X-DF-Token: %s\r\n" % (self.a.token + "x" * 600)
        return ""

    # ---- bodies ----
    def register_body(self):
        r = self.r
        lines = ["task: %s" % r.choice([self.task, "00", "", "x" * 70, self.task.upper()]),
                 "url: %s" % r.choice([self.src, self.src + "?a=1", "http://%s/missing" % self.a.allow[0],
                                       "http://127.0.0.1:1/", "ftp://x", "", "not a url"]),
                 "port: %s" % r.choice(["0", "65100", "-1", "99999", "x"]),
                 "have: %s" % r.choice(["", "ff", "0" * 4000, "zz"]),
                 "header: %s" % r.choice(["Authorization: Bearer x", "X: y", "nocolon", ""]),
                 "digest: %s" % r.choice([self.digest, "md5:00", "sha256:zz", ""])]
        if r.random() < 0.3:  # a line that is not "key: value"
            lines.append(r.choice(["a b", "\x00", "x" * 9000, ": v", "key\x00: v", "\t"]))
        r.shuffle(lines)
        return ("\n".join(lines[:r.randrange(len(lines) + 1)]) + "\n").encode()

    def report_body(self):
        r = self.r
        v = r.choice(["ok", "fail", "bad", "", "ok x y", "garbage"])
        return ("piece: %d %s %d\n" % (r.randrange(-2, 300), v, r.randrange(-2, 9))).encode() * r.choice([1, 3, 200])

    def heartbeat_body(self):
        return ("task: %s %d\n" % (self.task, self.r.randrange(-1, 10))).encode() * self.r.choice([1, 2, 500])

    def push_body(self):
        r = self.r
        lines = ["url: %s" % r.choice([self.src, "http://127.0.0.1:1/x", "", "x"]),
                 "digest: %s" % r.choice([self.digest, "sha256:00", ""]),
                 "dest: %s" % r.choice(["fz/a", "../x", "/etc/x", "a/../../b", "", "d/" * 300 + "f", "a\x01b"]),
                 "mode: %s" % r.choice(["0644", "4755", "77777", "-1", "abc", ""])]
        r.shuffle(lines)
        return ("\n".join(lines[:r.randrange(len(lines) + 1)]) + "\n").encode()

    # ---- requests per target kind ----
    def target_for(self, kind):
        r = self.r
        t, ids = self.task, [self.task, "0" * 64, "zz", "", "../../etc/passwd", self.task + "/x"]
        if kind == "supernode":
            return r.choice(["/v1/register", "/v1/work?task=%s&peer=%d" % (r.choice(ids), r.randrange(-1, 5)),
                             "/v1/report?task=%s&peer=%d" % (t, r.randrange(-1, 5)), "/v1/leave?task=%s&peer=%d" % (t, r.randrange(3)),
                             "/v1/heartbeat", "/v1/status", "/v1/status?format=json", "/metrics", "/v1/piece/%s/%d" % (t, r.randrange(-1, 9)),
                             "/v1/work?task=%s" % t, "/v1/work?peer=1&peer=2", "/", "/v1/", "*", "/v1/register?" + "a=" * 3000])
        if kind == "piece":
            return r.choice(["/v1/piece/%s/%d" % (r.choice(ids), r.choice([0, 1, 2, -1, 2**32, 99999])), "/v1/piece/%s" % t,
                             "/v1/piece//0", "/v1/piece/%s/0?x" % t, "/v1/status", "/", "/v1/piece/%s/%s" % (t, "9" * 40)])
        if kind == "push":
            return r.choice(["/v1/push", "/v1/push?x=1", "/v1/pus", "/v1/push/..", "/", "/v1/piece/%s/0" % t])
        # front: registry mirror, HTTP proxy, status
        h = self.a.allow[0]
        d = self.digest
        return r.choice(["/v2/", "/v2", "/v2/library/alpine/manifests/latest", "/v2/a/b/blobs/%s" % d,
                         "/v2/a/blobs/%s?ns=%s" % (d, h), "/v2/a/manifests/x?ns=%zz", "/v2/a/manifests/x?ns=docker.io",
                         "/v2/../../etc/passwd", "/v2/a/blobs/uploads/", "/v2/_catalog", "/v1/status", "/metrics",
                         "http://%s/f" % h, "http://%s/v2/a/blobs/%s" % (h, d), "/v2/" + "a/" * 2000 + "manifests/x"])

    def body_for(self, kind, path):
        r = self.r
        if kind == "supernode":
            if "register" in path:
                return self.register_body()
            if "report" in path:
                return self.report_body()
            if "heartbeat" in path:
                return self.heartbeat_body()
        if kind == "push":
            return self.push_body()
        return self.garbage(r.choice([0, 0, 10, 300]))

    def request(self, kind):
        r = self.r
        path = self.target_for(kind)
        method = r.choice(["GET", "POST", "HEAD"]) if r.random() < 0.7 else r.choice(METHODS)
        if kind in ("supernode", "push") and r.random() < 0.6:
            method = "POST"
        if kind == "front" and r.random() < 0.05:
            method, path = "CONNECT", self.a.allow[0]
        version = "HTTP/1.1" if r.random() < 0.85 else r.choice(VERSIONS)
        body = self.body_for(kind, path) if r.random() < 0.7 else self.garbage()
        if r.random() < 0.5:
            body = self.mutate(body)
        head = "%s %s %s\r\nHost: x\r\n" % (method, path, version)
        head += self.token_header()
        framing = r.random()
        if framing < 0.6:
            head += "Content-Length: %d\r\n" % len(body)
        elif framing < 0.7:
            head += "Content-Length: %s\r\n" % r.choice(["-1", "99999999999999999999", "10, 11", "0x10", str(len(body) + 100), ""])
        elif framing < 0.85:
            head += "Transfer-Encoding: chunked\r\n"
            if r.random() < 0.7:
                body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if body else b"0\r\n\r\n"
        elif framing < 0.9:
            head += "Content-Length: %d\r\nTransfer-Encoding: chunked\r\n" % len(body)
        nh = r.choice([0, 0, 0, 1, 5, 120])
        for _ in range(nh):
            head += "X-%d: %s\r\n" % (r.randrange(1000), "v" * r.choice([1, 100] if nh > 5 else [1, 100, 9000]))
        if r.random() < 0.1:
            head += "Range: bytes=%s\r\n" % r.choice(["0-0", "5-1", "-0", "0-", "x", "0-1,2-3", "99999999999-"])
        if r.random() < 0.05:
            head += "Expect: 100-continue\r\n"
        if r.random() < 0.05:
            head += "Connection: %s\r\n" % r.choice(["close", "keep-alive", "upgrade"])
        raw = head.encode("latin-1", "replace") + b"\r\n"
        if r.random() < 0.1:  # mutate the whole head too (then re-checked for safety)
            raw = self.mutate(raw)
        return raw + body


AUTHORITY = re.compile(rb"[^/?#\s]*")


def safe(req, allow):
    """Every "://AUTHORITY" in the request (whatever the scheme) names an allowed host; CONNECT only
    to those."""
    i = req.find(b"://")
    while i >= 0:
        if AUTHORITY.match(req, i + 3, i + 3 + 300).group(0).decode("latin-1") not in allow:
            return False
        i = req.find(b"://", i + 1)
    first = req.split(b"\n", 1)[0]
    if b"CONNECT" in first.upper():
        parts = first.split()
        if len(parts) < 2 or parts[1].decode("latin-1") not in allow:
            return False
    return True


def send_one(addr, data, rnd, deadline):
    """One connection: send (whole, in pieces, or cut short), read the answer for a while, close.
    Returns the status code seen, 0 for no answer, -1 when the connection was refused."""
    try:
        s = socket.create_connection(addr, timeout=1.0)
    except ConnectionRefusedError:
        return -1
    except OSError:
        return -1
    try:
        s.settimeout(1.0)
        deadline = min(deadline, time.time() + 2.0)  # no connection takes longer than this
        style = rnd.random()
        if style < 0.75:
            s.sendall(data)
        elif style < 0.9:  # in small pieces
            i = 0
            while i < len(data) and time.time() < deadline:
                n = rnd.choice([1, 3, 17, 400, 4096])
                s.sendall(data[i:i + n])
                i += n
                if rnd.random() < 0.05:
                    time.sleep(0.01)
        else:  # cut short and leave
            s.sendall(data[:rnd.randrange(len(data) + 1)])
            if rnd.random() < 0.5:
                return 0
        if rnd.random() < 0.1:
            s.shutdown(socket.SHUT_WR)
        got = b""
        end = min(time.time() + rnd.choice([0.05, 0.05, 0.2, 1.0]), deadline)
        while time.time() < end and len(got) < 65536 and b"\r\n\r\n" not in got:
            s.settimeout(max(0.01, end - time.time()))
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            got += chunk
        m = re.match(rb"HTTP/1\.[01] (\d{3})", got)
        return int(m.group(1)) if m else 0
    except OSError:
        return 0
    finally:
        s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--token", default="")
    ap.add_argument("--allow", action="append", required=True, help="HOST:PORT a request may name")
    ap.add_argument("--task", default="")
    ap.add_argument("--digest", default="")
    ap.add_argument("targets", nargs="+", help="KIND=HOST:PORT")
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    gen = Gen(rnd, a)
    targets = []
    for t in a.targets:
        kind, hp = t.split("=", 1)
        host, port = hp.rsplit(":", 1)
        if kind not in ("supernode", "front", "piece", "push"):
            sys.exit("req_fuzz: unknown target kind %s" % kind)
        targets.append((kind, (host, int(port)), hp))
    stats = {hp: {"sent": 0, "1xx": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0, "none": 0, "refused": 0, "dropped": 0, "slowest_ms": 0} for _, _, hp in targets}
    deadline = time.time() + a.seconds
    refused_in_a_row = {hp: 0 for _, _, hp in targets}
    while time.time() < deadline:
        kind, addr, hp = rnd.choice(targets)
        req = gen.request(kind)
        if not safe(req, a.allow):
            stats[hp]["dropped"] += 1
            continue
        t0 = time.time()
        code = send_one(addr, req, rnd, deadline)
        st = stats[hp]
        st["slowest_ms"] = max(st["slowest_ms"], int((time.time() - t0) * 1000))
        st["sent"] += 1
        if code < 0:
            st["refused"] += 1
            refused_in_a_row[hp] += 1
            if refused_in_a_row[hp] >= 20:
                print("req_fuzz: %s %s refuses connections (dead?) after %d requests" % (kind, hp, st["sent"]))
                break
            time.sleep(0.05)
            continue
        refused_in_a_row[hp] = 0
        key = "none" if code == 0 else "%dxx" % (code // 100)
        st[key] = st.get(key, 0) + 1
        if code >= 500:  # which server errors: worth a look when they are not the expected 502/503/504
            key = "s%d" % code
            st[key] = st.get(key, 0) + 1
    bad = 0
    for kind, _, hp in targets:
        st = stats[hp]
        print("req_fuzz: %-9s %s: %s" % (kind, hp, " ".join("%s=%d" % kv for kv in st.items())))
        bad += refused_in_a_row[hp] >= 20
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
