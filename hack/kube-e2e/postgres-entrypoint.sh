#!/bin/sh
# The official postgres image's entrypoint contract, for the image the
# end-to-end test rebuilds (hack/kube-e2e/images.go): on the first start,
# initialise $PGDATA with POSTGRES_USER / POSTGRES_PASSWORD and create
# POSTGRES_DB, accept password logins from any address; then run the command.
set -eu
if [ "${1#-}" != "$1" ]; then set -- postgres "$@"; fi
if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
	: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
	user=${POSTGRES_USER:-postgres}
	db=${POSTGRES_DB:-$user}
	mkdir -p "$PGDATA"
	chmod 700 "$PGDATA"
	pwfile=$(mktemp)
	printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
	# shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of arguments
	initdb --username="$user" --pwfile="$pwfile" ${POSTGRES_INITDB_ARGS:-}
	rm -f "$pwfile"
	printf "listen_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
	printf 'host all all all %s\n' "${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}" >>"$PGDATA/pg_hba.conf"
	pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start
	if [ "$db" != postgres ]; then
		# psql quotes the name itself (:"db"), in input read from stdin.
		echo 'CREATE DATABASE :"db"' | psql -v ON_ERROR_STOP=1 --username "$user" \
			--no-password --dbname postgres --set db="$db"
	fi
	pg_ctl -D "$PGDATA" -m fast -w stop
	echo "PostgreSQL init process complete; ready for start up."
fi
exec "$@"
