#!/usr/bin/env bash
# A throwaway PostgreSQL server on loopback for the tests of the shared tuning
# database (Debian's postgresql package: initdb + pg_ctl, nothing installed or
# configured system-wide).
#
#   postgres.sh start DIR PORT   initdb in DIR (when new) and start on 127.0.0.1:PORT;
#                                prints the URL, postgresql://kforge@127.0.0.1:PORT/kforge
#   postgres.sh stop DIR         fast shutdown (the data stays in DIR)
#   postgres.sh kill DIR         immediate shutdown, as a crash would
#
# PostgreSQL refuses to run as root: as root the server runs as the `postgres`
# user (created by the package), which then owns DIR.
set -euo pipefail
cmd="${1:?usage: postgres.sh start DIR PORT | stop DIR | kill DIR}"
dir="${2:?data directory}"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
if [[ -z "$bin" ]]; then
  echo "postgres.sh: no PostgreSQL server (install Debian's postgresql: scripts/install-deps.sh)" >&2
  exit 2
fi
dir="$(realpath -m "$dir")"
as_owner=()
if ((EUID == 0)); then as_owner=(runuser -u postgres --); fi
# The postgres user may not enter the caller's directory (a checkout under a
# mode-0700 directory): its tools would warn about it on stderr.
cd /

case "$cmd" in
  start)
    port="${3:?port}"
    mkdir -p "$dir"
    if ((EUID == 0)); then chown postgres: "$dir"; fi
    if [[ ! -f "$dir/data/PG_VERSION" ]]; then
      "${as_owner[@]}" "$bin/initdb" -D "$dir/data" -U kforge --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c fsync=off -c max_connections=100" start >/dev/null ||
      { cat "$dir/server.log" >&2; exit 1; }
    "${as_owner[@]}" "$bin/psql" -h 127.0.0.1 -p "$port" -U kforge -d postgres -qtAc \
      "SELECT 1 FROM pg_database WHERE datname = 'kforge'" | grep -q 1 ||
      "${as_owner[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U kforge kforge
    echo "postgresql://kforge@127.0.0.1:$port/kforge"
    ;;
  stop) "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null ;;
  kill) "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null ;;
  *) echo "postgres.sh: unknown command '$cmd'" >&2; exit 2 ;;
esac
