#!/bin/sh
# Makes the throwaway PKI the TLS tests use, in directory $1: two CAs and certificates signed by them.
# ca (RSA) signs rsa.crt (RSA key) and ec.crt (EC P-256) for localhost/127.0.0.1/::1, wrong.crt for
# wrong.example, expired.crt (valid in 2000 only), client.crt (EC) and client-rsa.crt; ca2 (EC) signs
# other.crt and client2.crt.
# Keys come as PKCS#8, plus rsa-pkcs1.key, ec-sec1.key and an encrypted ec-encrypted.key. Idempotent.
set -eu
d=$1
mkdir -p "$d"
cd "$d"
[ -f done ] && exit 0
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
rsa() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null; }
ca() { # name keytype
  $2 "$1.key"
  openssl req -x509 -new -key "$1.key" -subj "/CN=df test $1" -days 3650 -out "$1.crt" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}
leaf() { # name keytype ca san [ext]
  $2 "$1.key"
  openssl req -new -key "$1.key" -subj "/CN=$1" -out "$1.csr" 2>/dev/null
  printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\n%s\n' "$4" "${5:-}" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$3.crt" -CAkey "$3.key" -CAcreateserial -days 3650 -extfile "$1.ext" \
    -out "$1.crt" 2>/dev/null
}
here='DNS:localhost,IP:127.0.0.1,IP:::1'
ca ca rsa
ca ca2 ec
leaf rsa rsa ca "$here"
leaf ec ec ca "$here"
leaf wrong ec ca 'DNS:wrong.example'
leaf other ec ca2 "$here"
leaf client ec ca 'DNS:client.df' 'extendedKeyUsage=clientAuth'
leaf client2 ec ca2 'DNS:client2.df' 'extendedKeyUsage=clientAuth'
leaf client-rsa rsa ca 'DNS:client-rsa.df' 'extendedKeyUsage=clientAuth'
# A certificate that expired long ago needs explicit dates, which only "openssl ca" sets.
ec expired.key
openssl req -new -key expired.key -subj /CN=expired -out expired.csr 2>/dev/null
mkdir -p cadb && : > cadb/index.txt && echo 01 > cadb/serial
cat > cadb/ca.cnf <<CNF
[ca]
default_ca = d
[d]
database = cadb/index.txt
serial = cadb/serial
new_certs_dir = cadb
default_md = sha256
policy = p
copy_extensions = none
x509_extensions = x
[p]
commonName = supplied
[x]
subjectAltName = $here
CNF
openssl ca -batch -config cadb/ca.cnf -cert ca.crt -keyfile ca.key -in expired.csr -out expired.crt \
  -startdate 20000101000000Z -enddate 20010101000000Z 2>/dev/null
cat rsa.crt ca.crt > rsa-chain.crt
openssl rsa -in rsa.key -traditional -out rsa-pkcs1.key 2>/dev/null
openssl ec -in ec.key -out ec-sec1.key 2>/dev/null
openssl pkcs8 -topk8 -in ec.key -passout pass:secret -out ec-encrypted.key 2>/dev/null
touch done
