#!/bin/sh
# A certificate chain the way public CAs issue one, for the TLS chain test:
# a root CA, an intermediate CA it signs, and a leaf for localhost and
# 127.0.0.1 the intermediate signs (P-256, 30 days). Writes into DIR:
#   root.pem         the root (what a client trusts)
#   leaf.pem         the leaf alone (like Let's Encrypt's cert.pem)
#   fullchain.pem    the leaf, then the intermediate (fullchain.pem)
#   leaf.key         the leaf's key (privkey.pem)
#   wrongorder.pem   the intermediate, then the leaf
#   withkey.pem      the leaf, then its key (a mistake the server names)
set -eu
dir=$1
mkdir -p "$dir"
cd "$dir"
export OPENSSL_CONF=/dev/null
ossl() { openssl "$@" 2>/dev/null; }
ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' >ca.ext
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\nauthorityKeyIdentifier=keyid\n' >leaf.ext
ossl req -x509 $ec -keyout root.key -out root.pem -days 30 -subj "/CN=tickwire test root" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
ossl req -new $ec -keyout int.key -out int.csr -subj "/CN=tickwire test intermediate"
ossl x509 -req -in int.csr -CA root.pem -CAkey root.key -CAcreateserial -days 30 -extfile ca.ext -out int.pem
ossl req -new $ec -keyout leaf.key -out leaf.csr -subj "/CN=localhost"
ossl x509 -req -in leaf.csr -CA int.pem -CAkey int.key -CAcreateserial -days 30 -extfile leaf.ext -out leaf.pem
cat leaf.pem int.pem >fullchain.pem
cat int.pem leaf.pem >wrongorder.pem
cat leaf.pem leaf.key >withkey.pem
openssl verify -CAfile root.pem -untrusted int.pem leaf.pem >/dev/null
