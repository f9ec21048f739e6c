#!/usr/bin/env bash
# A development CA and the certificate of every serviceradar-netflow component,
# in the layout the `security` blocks expect (cert_dir /etc/serviceradar/certs):
#
#   root.pem                                   the CA every peer trusts (ca_file)
#   nats-server.pem, nats-server-key.pem       NATS (SAN nats-serviceradar, localhost, 127.0.0.1, ::1)
#   netflow.pem, netflow-key.pem               checker: NATS client + gRPC server for the agent (PRD 7.1)
#   netflow-clickhouse.pem, -key.pem           clickhouse-writer: NATS client
#   netflow-parquet.pem, -key.pem              parquet-writer: NATS client
#   core.pem, core-key.pem                     core-extension: NATS client + gRPC server for pollers
#   agent.pem, poller.pem (+ -key.pem)         ServiceRadar's agent and poller, as gRPC clients
#   nats-server-tls.conf                       NATS tls block (verify: client certificates required)
#   ca-private/root-key.pem                    the CA key: keep it off the hosts
#
# Usage: scripts/gen-certs.sh DIR [--days N] [--san NAME]...
#   --san adds a DNS name or IP address to every server certificate (the
#   checker's host name, the NATS host, ...). Existing files in DIR are kept:
#   delete DIR to start over. When a service user of our packages exists
#   (e.g. serviceradar-netflow-checker), its key is given to that user's group
#   (0640) so the service can read it; other keys stay 0600.
set -euo pipefail

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

dir=""
days=825
extra_sans=()
while (($#)); do
  case "$1" in
    --days) days=${2:?--days needs a number}; shift 2 ;;
    --san) extra_sans+=("${2:?--san needs a name}"); shift 2 ;;
    -h|--help) usage ;;
    -*) echo "gen-certs: unknown option $1" >&2; usage ;;
    *) [[ -z "$dir" ]] || usage; dir=$1; shift ;;
  esac
done
[[ -n "$dir" ]] || usage
command -v openssl >/dev/null || { echo "gen-certs: openssl is not installed" >&2; exit 1; }

mkdir -p "$dir/ca-private"
dir=$(cd "$dir" && pwd)
chmod 0700 "$dir/ca-private"
umask 077

san_list() {
  local out="" s
  for s in "$@"; do
    if [[ "$s" =~ ^[0-9.]+$ || "$s" == *:* ]]; then out+=",IP:$s"; else out+=",DNS:$s"; fi
  done
  echo "${out#,}"
}

ca_key="$dir/ca-private/root-key.pem"
if [[ ! -f "$dir/root.pem" ]]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days "$days" \
    -subj "/O=ServiceRadar NetFlow development/CN=serviceradar-netflow dev CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$ca_key" -out "$dir/root.pem" 2>/dev/null
  chmod 0644 "$dir/root.pem"
fi

# issue NAME OWNER EKU SAN...: NAME.pem and NAME-key.pem signed by the CA.
issue() {
  local name=$1 owner=$2 eku=$3; shift 3
  [[ -f "$dir/$name.pem" ]] && return 0
  local ext; ext=$(mktemp)
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    (($#)) && echo "subjectAltName=$(san_list "$@")"
  } > "$ext"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/O=ServiceRadar NetFlow development/CN=$name" \
    -keyout "$dir/$name-key.pem" -out "$dir/$name.csr" 2>/dev/null
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/root.pem" -CAkey "$ca_key" -CAcreateserial -CAserial "$dir/ca-private/root.srl" \
    -days "$days" -sha256 -extfile "$ext" -out "$dir/$name.pem" 2>/dev/null
  rm -f "$dir/$name.csr" "$ext"
  chmod 0644 "$dir/$name.pem"
  if [[ -n "$owner" ]] && getent group "$owner" >/dev/null 2>&1; then
    chgrp "$owner" "$dir/$name-key.pem" && chmod 0640 "$dir/$name-key.pem"
  fi
}

local_sans=(localhost 127.0.0.1 ::1 "${extra_sans[@]}")
# Servers also authenticate as clients (NATS routes, the core's own NATS link).
issue nats-server        ""                               serverAuth,clientAuth nats-serviceradar "${local_sans[@]}"
issue netflow            serviceradar-netflow-checker     serverAuth,clientAuth netflow serviceradar-netflow-checker "${local_sans[@]}"
issue netflow-clickhouse serviceradar-netflow-consumers   clientAuth
issue netflow-parquet    serviceradar-netflow-consumers   clientAuth
issue core               serviceradar-netflow-core        serverAuth,clientAuth core serviceradar-core "${local_sans[@]}"
# The agent serves the poller and calls the checker; the poller calls the core.
issue agent              ""                               serverAuth,clientAuth agent "${local_sans[@]}"
issue poller             ""                               clientAuth

if [[ ! -f "$dir/nats-server-tls.conf" ]]; then
  cat > "$dir/nats-server-tls.conf" <<EOF
# NATS TLS with client-certificate verification for serviceradar-netflow.
# Include it from nats-server.conf (include ./nats-server-tls.conf) or paste it.
# Clients connect with server name nats-serviceradar (the security block's
# server_name); a client without a certificate signed by root.pem is refused.
tls {
  cert_file: "$dir/nats-server.pem"
  key_file: "$dir/nats-server-key.pem"
  ca_file: "$dir/root.pem"
  verify: true
  timeout: 2
}
EOF
  chmod 0644 "$dir/nats-server-tls.conf"
fi
echo "gen-certs: certificates in $dir (CA key in $dir/ca-private; keep it off the hosts)"
