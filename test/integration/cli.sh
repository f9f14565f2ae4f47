#!/usr/bin/env bash
# The binary as a user meets it: dispatch by argv[1] and argv[0], help and version, exit code 2 for
# unknown commands and flags, config precedence and errors, and docs/config.md matching the code.
. "$(dirname "$0")/../lib.sh"
cd "$T"

expect_rc 0 "$DF" --version;  expect_in "df "; expect_in "libev"; expect_in "BearSSL"; expect_in "xxHash"; expect_in "inih"
expect_rc 0 "$DF";            expect_in "Commands:"
expect_rc 0 "$DF" help;       expect_in "Commands:"
expect_rc 0 "$DF" --help;     expect_in "config"
expect_rc 0 "$DF" config --help; expect_in "Usage: df config"
expect_rc 0 "$DF" help config;   expect_in "Usage: df config"

# unknown command / flag: one line naming it, a hint, exit 2
# every flag is listed once in each command's help (a command option shadows the config key's flag)
for c in get supernode push status proxy config; do
  dup=$("$DF" "$c" --help | awk '$1 ~ /^--/ { print $1 } $1 ~ /^-.,$/ && $2 ~ /^--/ { print $2 }' | sort | uniq -d)
  [ -z "$dup" ] || fail "df $c --help lists $dup twice"
done
expect_rc 2 "$DF" frobnicate;  expect_in "unknown command 'frobnicate'"; expect_in "df help"
expect_rc 2 "$DF" config --frob; expect_in "unknown option --frob"; expect_in "df config --help"
# positional arguments are counted by the command descriptor (cmd_check_args) before run()
expect_rc 2 "$DF" get;           expect_in "df: get: missing URL"; expect_in "df get --help"
expect_rc 2 "$DF" get a b;       expect_in "takes one URL, got also 'b'"
expect_rc 2 "$DF" push a b;      expect_in "takes one FILE, got also 'b'"
# a listen address that cannot parse is a usage error naming the setting, before anything starts
expect_rc 2 "$DF" supernode --listen bogus --data "$T/nolisten"; expect_in "[supernode] listen: missing port in 'bogus'"
expect_rc 2 "$DF" proxy --push-listen 127.0.0.1:99999 --data "$T/nolisten"; expect_in "[proxy] push_listen: bad port"
[ ! -e "$T/nolisten" ] || fail "a store was made for a command that could not start"
expect_rc 2 "$DF" gc extra;      expect_in "df: gc: unexpected argument 'extra'"
expect_rc 2 "$DF" supernode x;   expect_in "df: supernode: unexpected argument 'x'"
expect_rc 2 "$DF" config -Z;  expect_in "unknown option -Z"
expect_rc 2 "$DF" help nope;  expect_in "unknown command 'nope'"

# dispatch by the name it was called by
ln -s "$DF" dfconfig
expect_rc 0 ./dfconfig --log-level debug; expect_in "log_level = debug"
expect_rc 2 ./dfconfig --bogus; expect_in "unknown option --bogus"

# precedence: default < $DF_CONFIG < --config < flag
export DF_CONFIG=$T/env.conf
printf '[common]\nlog_level = warn\ncacert = /env/ca\n' > env.conf
printf '[common]\nlog_level = error\n' > explicit.conf
expect_rc 0 "$DF" config; expect_in "log_level = warn"; expect_in "cacert = /env/ca"; expect_in "from $T/env.conf"
expect_rc 0 "$DF" config --config explicit.conf; expect_in "log_level = error"; expect_in "cacert = "$'\n'
expect_rc 0 "$DF" config --config explicit.conf --log-level debug; expect_in "log_level = debug"
expect_rc 0 "$DF" config --insecure; expect_in "insecure = yes"
expect_rc 0 "$DF" config --no-insecure; expect_in "insecure = no"
unset DF_CONFIG
expect_rc 0 "$DF" config; expect_in "built-in defaults"

# config errors name file, line and key; exit 2
printf '[common]\n\nlog_level = loud\n' > bad.conf
expect_rc 2 "$DF" config --config bad.conf; expect_in "bad.conf:3:"; expect_in "log_level"
printf '[common]\nwhat = 1\n' > bad2.conf
expect_rc 2 "$DF" config --config bad2.conf; expect_in "bad2.conf:2:"; expect_in "what"
printf '[moon]\n' > bad3.conf
expect_rc 2 "$DF" config --config bad3.conf; expect_in "bad3.conf:1:"; expect_in "moon"
expect_rc 2 "$DF" config --config /nonexistent.conf; expect_in "/nonexistent.conf: No such file"
expect_rc 2 "$DF" config --insecure=maybe; expect_in "maybe"

# df status with nothing named and no df proxy on this host: says so and how to ask a supernode
free=$(free_port)
printf '[proxy]\nlisten = 127.0.0.1:%s\n' "$free" > noproxy.conf
expect_rc 1 "$DF" status --config noproxy.conf
expect_in "no df proxy answers on this host's 127.0.0.1:$free"
expect_in "df status --supernode HOST:PORT"

# the docs are generated from the code and must not drift
"$DF" config --doc > doc.md
diff -u "$top/docs/config.md" doc.md || fail "docs/config.md drifted from core/config.def: run ./df config --doc > docs/config.md"
pass cli
