#!/usr/bin/env python3
"""A relay in front of a real supernode that delays chosen control requests or their answers, to
make a race between a peer's requests happen every time instead of now and then (fault injection:
the supernode and the peers are the real ones).

usage: ctl_delay.py LISTEN_PORT SUPERNODE_PORT RULE...
RULE is PATH_PREFIX:req:SECONDS (hold the request that long before passing it on),
PATH_PREFIX:ans:SECONDS (pass the request at once, hold its answer), PATH_PREFIX:set:KEY=VALUE
(a lying supernode: the answer's "KEY: ..." lines say VALUE instead) or PATH_PREFIX:size:DELTA (its
"assign" lines give each piece DELTA bytes more than it has). Loopback only. One request at a
time per connection (HTTP/1.1 as df speaks it: Content-Length or chunked answers, no pipelining).
"""
import asyncio
import re
import sys


def rules_for(line, rules):
    words = line.split(b" ")
    path = words[1] if len(words) > 1 else b""
    req = ans = 0.0
    sets = []
    for prefix, kind, arg in rules:
        if path.startswith(prefix.encode()):
            if kind == "req":
                req = arg
            elif kind == "ans":
                ans = arg
            elif kind == "size":
                sets.append((None, arg))
            else:
                sets.append(arg)
    return req, ans, sets


def rewrite(head, body, sets):
    """The answer with each KEY's lines saying VALUE (Content-Length fixed; not for chunked ones)."""
    for key, value in sets:
        if key is None:  # assign: PIECE SIZE ...: SIZE + value
            body = re.sub(rb"(?m)^(assign: \d+ )(\d+)",
                          lambda m: m.group(1) + b"%d" % (int(m.group(2)) + value), body)
            continue
        lines = body.split(b"\n")
        body = b"\n".join(key.encode() + b": " + value.encode() if l.startswith(key.encode() + b":") else l
                          for l in lines)
    hl = [h if not h.lower().startswith(b"content-length:") else b"Content-Length: %d" % len(body)
          for h in head.split(b"\r\n")]
    return b"\r\n".join(hl), body


async def read_head(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    length, chunked = 0, False
    for h in head.split(b"\r\n")[1:]:
        name, _, value = h.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    return head, length, chunked


async def read_body(reader, length, chunked):
    if not chunked:
        return await reader.readexactly(length) if length else b""
    out = b""
    while True:
        size_line = await reader.readuntil(b"\r\n")
        out += size_line
        size = int(size_line.split(b";")[0].strip(), 16)
        out += await reader.readexactly(size + 2)
        if size == 0:
            return out


async def serve(creader, cwriter, sn_port, rules):
    sreader = swriter = None
    try:
        sreader, swriter = await asyncio.open_connection("127.0.0.1", sn_port)
        while True:
            head, length, chunked = await read_head(creader)
            body = await read_body(creader, length, chunked)
            req_delay, ans_delay, sets = rules_for(head.split(b"\r\n")[0], rules)
            if req_delay:
                await asyncio.sleep(req_delay)
            swriter.write(head + body)
            await swriter.drain()
            ahead, alen, achunked = await read_head(sreader)
            abody = await read_body(sreader, alen, achunked)
            if ans_delay:
                await asyncio.sleep(ans_delay)
            if sets and not achunked:
                ahead, abody = rewrite(ahead, abody, sets)
            cwriter.write(ahead + abody)
            await cwriter.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        for w in (cwriter, swriter):
            if w:
                w.close()


async def main():
    port, sn_port = int(sys.argv[1]), int(sys.argv[2])
    rules = []
    for r in sys.argv[3:]:
        prefix, kind, arg = r.rsplit(":", 2)
        if kind == "set":
            key, _, value = arg.partition("=")
            rules.append((prefix, kind, (key, value)))
        elif kind in ("req", "ans"):
            rules.append((prefix, kind, float(arg)))
        elif kind == "size":
            rules.append((prefix, kind, int(arg)))
        else:
            sys.exit("ctl_delay: a rule's kind is req, ans, set or size: " + r)
    server = await asyncio.start_server(lambda r, w: serve(r, w, sn_port, rules), "127.0.0.1", port)
    async with server:
        await server.serve_forever()


asyncio.run(main())
