#!/bin/sh
# Every --flag a hosting document names must exist: in tickwire-server
# --help, in tickwire-bots --help, or in the short list of other tools'
# flags the documents quote (certbot, redis-server, docker, setup.sh --server).
#   check_doc_flags.sh SERVER BOTS DOC...
set -eu
server=$1 bots=$2
shift 2
help=$("$server" --help; "$bots" --help)
external="--standalone --deploy-hook --appendonly --save --build --rm --server"  # certbot, redis-server, docker, setup.sh
status=0
for doc in "$@"; do
    for flag in $(grep -oE -- '--[a-z][a-z0-9-]*' "$doc" | sort -u); do
        case " $external " in *" $flag "*) continue ;; esac
        if ! printf '%s\n' "$help" | grep -qE -- "(^|[^a-z0-9-])$flag([^a-z0-9-]|\$)"; then
            echo "$doc: $flag is not a flag of tickwire-server or tickwire-bots" >&2
            status=1
        fi
    done
    echo "$doc: $(grep -oE -- '--[a-z][a-z0-9-]*' "$doc" | sort -u | wc -l) flags checked"
done
exit $status
