# Pinned dependency versions: the one place they are named (read by Makefile and release/deps.sh).
DF_VERSION      = 0.1.0
LIBEV_VERSION   = 1:4.33-1
BEARSSL_VERSION = 0.6+dfsg.1-3
XXHASH_VERSION  = 0.8.1-1
LIBINIH_VERSION = 59-1
