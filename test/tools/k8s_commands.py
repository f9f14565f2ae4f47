#!/usr/bin/env python3
# Reads Kubernetes manifests and writes each container's command + args to OUTDIR/N (NUL-separated,
# OUTDIR/N.name says where it came from, OUTDIR/N.mounts lists its volume mounts, one a line), after checking what kubectl cannot: the
# supernode list of every df proxy names the StatefulSet's pods by their headless-Service DNS names,
# and every file a flag names lies under one of that container's volume mounts.
# Usage: k8s_commands.py OUTDIR MANIFEST...
import os
import sys

import yaml


def die(msg):
    print("k8s_commands: " + msg, file=sys.stderr)
    sys.exit(1)


def pod_spec(doc):
    kind = doc.get("kind")
    if kind in ("StatefulSet", "DaemonSet", "Deployment", "Job"):
        return doc["spec"]["template"]["spec"]
    if kind == "Pod":
        return doc["spec"]
    return None


def flag_value(args, name):
    for i, a in enumerate(args):
        if a.startswith(name + "="):
            return a[len(name) + 1:]
        if a == name and i + 1 < len(args):
            return args[i + 1]
    return None


def main():
    if len(sys.argv) < 3:
        die("usage: k8s_commands.py OUTDIR MANIFEST...")
    out = sys.argv[1]
    docs = []
    for path in sys.argv[2:]:
        with open(path) as f:
            for d in yaml.safe_load_all(f):
                if d:
                    docs.append((os.path.basename(path), d))
    # the supernodes' stable names: POD.SERVICE.NAMESPACE.svc.cluster.local
    names = set()
    for _, d in docs:
        if d.get("kind") == "StatefulSet":
            m, s = d["metadata"], d["spec"]
            svc = [x for _, x in docs if x.get("kind") == "Service" and x["metadata"]["name"] == s["serviceName"]]
            if not svc or svc[0]["spec"].get("clusterIP") != "None":
                die("StatefulSet %s: serviceName %s is no headless Service here" % (m["name"], s["serviceName"]))
            ns = m.get("namespace", "default")
            for i in range(s.get("replicas", 1)):
                names.add("%s-%d.%s.%s.svc.cluster.local" % (m["name"], i, s["serviceName"], ns))
    n = 0
    for fname, d in docs:
        spec = pod_spec(d)
        if spec is None:
            continue
        where = "%s: %s/%s" % (fname, d["kind"], d["metadata"]["name"])
        for c in spec.get("initContainers", []) + spec.get("containers", []):
            argv = [str(x) for x in c.get("command", [])] + [str(x) for x in c.get("args", [])]
            if not argv:
                die("%s container %s: no command" % (where, c["name"]))
            mounts = [m["mountPath"].rstrip("/") + "/" for m in c.get("volumeMounts", [])]
            for flag in ("--token-file", "--cert", "--key", "--ca", "--cacert"):
                v = flag_value(argv, flag)
                if v and not any(v.startswith(m) for m in mounts):
                    die("%s container %s: %s %s is under none of its volume mounts %s" % (where, c["name"], flag, v, mounts))
            sn = flag_value(argv, "--supernode")
            if sn is not None:
                listed = {h.rsplit(":", 1)[0] for h in sn.split(",")}
                if listed != names:
                    die("%s container %s: --supernode lists %s, the StatefulSet's pods are %s"
                        % (where, c["name"], sorted(listed), sorted(names)))
            with open(os.path.join(out, str(n)), "wb") as f:
                f.write(b"\0".join(a.encode() for a in argv) + b"\0")
            with open(os.path.join(out, "%d.name" % n), "w") as f:
                f.write("%s container %s\n" % (where, c["name"]))
            with open(os.path.join(out, "%d.mounts" % n), "w") as f:
                f.write("".join(m + "\n" for m in mounts))
            n += 1
    if n == 0:
        die("no container in " + " ".join(sys.argv[2:]))


main()
