#!/usr/bin/env bash
# Makes sure the programs the shop and its tests need are on this machine: redis-server,
# redis-cli, haproxy and sqlite3 always, for the tests a running PostgreSQL, RabbitMQ,
# promtool and strace, and Node.js 20 or later with npm for the tests and for a run with
# MYPAGE=ts (the TypeScript mypage, mypage-ts/). Installs from Debian's packages when
# something is missing (needs root, as on the project's machines).
set -euo pipefail
what=${1:-run}                # run or test
profile=${2:-local}           # for run: the profile that will run

log() { echo "deps: $*" >&2; }

apt_updated=
apt_install() {
	if [ "$(id -u)" -ne 0 ]; then
		log "missing $*; install it (sudo apt-get install $*) and try again"
		exit 1
	fi
	if [ -z "$apt_updated" ]; then
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
		apt_updated=1
	fi
	log "installing $*"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

command -v go >/dev/null || { log "Go is needed: https://go.dev/doc/install"; exit 1; }
command -v redis-server >/dev/null && command -v redis-cli >/dev/null || apt_install redis-server
command -v curl >/dev/null || apt_install curl
# The gateway in front of the shop (scripts/gateway.sh).
command -v haproxy >/dev/null || apt_install haproxy
# Makes the file the sidecars find each other in (scripts/run.sh, the tests' shops).
command -v sqlite3 >/dev/null || apt_install sqlite3

need_postgres() {
	command -v pg_ctlcluster >/dev/null || apt_install postgresql
	if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
		cluster=$(ls /etc/postgresql | sort -V | tail -1)
		log "starting PostgreSQL $cluster"
		pg_ctlcluster --skip-systemctl-redirect "$cluster" main start || true
		for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
	fi
	pg_isready -q -h 127.0.0.1 -p 5432 || { log "PostgreSQL does not answer on 127.0.0.1:5432"; exit 1; }
	# The tests connect as postgres without a password over TCP (trust, as on a dev machine).
	if ! psql "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" -qAtc 'select 1' >/dev/null 2>&1; then
		hba=$(su postgres -c "psql -qAtc 'show hba_file'" 2>/dev/null || true)
		if [ -n "$hba" ] && [ -w "$hba" ]; then
			log "allowing trust authentication for local TCP connections in $hba"
			sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
			su postgres -c "psql -qAtc 'select pg_reload_conf()'" >/dev/null
		fi
	fi
	psql "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" -qAtc 'select 1' >/dev/null \
		|| { log "cannot connect to PostgreSQL as postgres on 127.0.0.1:5432"; exit 1; }
}

need_rabbitmq() {
	command -v rabbitmqctl >/dev/null || apt_install rabbitmq-server
	if ! rabbitmq-diagnostics -q ping >/dev/null 2>&1; then
		log "starting RabbitMQ"
		rabbitmq-server -detached >/dev/null 2>&1 || true
		for _ in $(seq 1 60); do rabbitmq-diagnostics -q ping >/dev/null 2>&1 && break; sleep 1; done
	fi
	rabbitmq-diagnostics -q ping >/dev/null 2>&1 || { log "RabbitMQ does not answer"; exit 1; }
}

need_node() {
	command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
	local major
	major=$(node -p 'process.versions.node.split(".")[0]')
	[ "$major" -ge 20 ] || { log "mypage-ts needs Node.js 20 or later, this is $(node --version): https://nodejs.org/en/download"; exit 1; }
}

case "$what/$profile" in
test/*) need_postgres; need_rabbitmq; need_node
	# promtool checks and unit-tests the chart's alert rules.
	command -v promtool >/dev/null || apt_install prometheus
	# TestSlowDisk slows the sidecars' flushes to disk with strace (setpriv is util-linux's).
	command -v strace >/dev/null || apt_install strace
	command -v setpriv >/dev/null || apt_install util-linux ;;
run/postgres-redis) need_postgres ;;
run/rabbitmq) need_rabbitmq ;;
esac
if [ "$what" = run ] && [ "${MYPAGE:-go}" = ts ]; then
	need_node
fi
