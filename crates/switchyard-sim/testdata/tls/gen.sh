#!/bin/sh
# Regenerates the simulator's TEST-ONLY TLS material (see README.md): an ECDSA P-256 CA and a
# leaf for localhost, upstream.test and 127.0.0.1 signed by it, valid 2025-01-01 to 2125-01-01 (fixed dates, so a
# machine with a lagging clock still accepts them). Needs the openssl CLI (1.1.1 or 3.x).
# Usage: ./gen.sh   (writes ca.pem, server.pem (leaf then CA), server.key (PKCS#8) here)
set -eu
cd "$(dirname "$0")"

start=20250101000000Z
end=21250101000000Z
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

touch "$tmp/index.txt"
cat > "$tmp/openssl.cnf" <<CNF
[ca]
default_ca = sim_ca

[sim_ca]
dir = $tmp
database = \$dir/index.txt
new_certs_dir = \$dir
rand_serial = yes
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none

[any]
commonName = supplied

[req]
distinguished_name = dn
prompt = no

[dn]
CN = placeholder

[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[leaf_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, DNS:upstream.test, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF

# CA, self-signed (its key is thrown away: nothing else should ever be signed with it).
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/ca.key"
openssl req -new -config "$tmp/openssl.cnf" -key "$tmp/ca.key" \
    -subj "/CN=switchyard-sim test CA" -out "$tmp/ca.csr"
openssl ca -batch -notext -config "$tmp/openssl.cnf" -selfsign -keyfile "$tmp/ca.key" \
    -extensions ca_ext -startdate "$start" -enddate "$end" \
    -in "$tmp/ca.csr" -out ca.pem

# Leaf: PKCS#8 key (genpkey's default PEM), CA:FALSE, serverAuth, SAN localhost, upstream.test, 127.0.0.1 (upstream.test: a non-loopback name that tests map to the simulator, e.g. behind a test proxy).
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out server.key
openssl req -new -config "$tmp/openssl.cnf" -key server.key -subj "/CN=localhost" \
    -out "$tmp/server.csr"
openssl ca -batch -notext -config "$tmp/openssl.cnf" -cert ca.pem -keyfile "$tmp/ca.key" \
    -extensions leaf_ext -startdate "$start" -enddate "$end" \
    -in "$tmp/server.csr" -out "$tmp/leaf.pem"

# Chain: leaf first, then the CA.
cat "$tmp/leaf.pem" ca.pem > server.pem
chmod 644 server.key

openssl verify -CAfile ca.pem server.pem
