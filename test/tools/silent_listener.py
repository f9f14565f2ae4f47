#!/usr/bin/env python3
# A server that accepts connections and never answers (a hung source): what nginx cannot be made to
# do. Holds every connection open until it is stopped. Usage: silent_listener.py PORT
import socket
import sys

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
held = []
while True:
    held.append(s.accept()[0])
