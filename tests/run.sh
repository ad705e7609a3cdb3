#!/usr/bin/env bash
# Install what the tests need and run them all. This is the README's test command, and CI's.
# System packages (Debian): Chromium for the browser tests (never `playwright install`), coturn for
# TURN, PostgreSQL and Redis for the integration tests, docker-compose to validate the deployment.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v chromium >/dev/null || need+=(chromium)
command -v turnserver >/dev/null || need+=(coturn)
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v pg_ctlcluster >/dev/null || need+=(postgresql)
command -v redis-server >/dev/null || need+=(redis-server)
command -v unshare >/dev/null || need+=(util-linux)
command -v ip >/dev/null || need+=(iproute2)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# PostgreSQL (trust auth on 127.0.0.1, database `test`) and Redis, started if they are down.
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
# The tests connect as `postgres` without a password over 127.0.0.1 (this machine's setup). A fresh
# Debian install asks for a password there: trust loopback for the test cluster, then reload.
if ! psql -h 127.0.0.1 -U postgres -d postgres -w -c "select 1" >/dev/null 2>&1; then
  hba="$(ls /etc/postgresql/*/main/pg_hba.conf | head -n1)"
  sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main reload
fi
if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 30); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 1; done
fi

python3 -m pip install -q -e '.[test]'
# npm's certified oidc-provider, the other side of the sign-in interop tests (tests/interop/).
[ -d tests/interop/provider/node_modules/oidc-provider ] || \
  npm ci --prefix tests/interop/provider --no-audit --no-fund --loglevel=error
exec python3 -m pytest "$@"
