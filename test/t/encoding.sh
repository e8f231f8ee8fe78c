#!/usr/bin/env bash
# ar_collect needs a UTF8 database: in another encoding CREATE EXTENSION is
# refused at once, with the reason (it failed midway on a shipped letter
# text, as a "control character" of a mangled "Échéance").  Prints TAP; run
# by tools/test.sh against its throwaway cluster.
set -uo pipefail
source "$(dirname "$0")/../../tools/tap.sh"

echo "1..3"
for enc in LATIN1 SQL_ASCII; do
	db=ar_encoding_$(tr 'A-Z' 'a-z' <<<"$enc")
	$PG_BIN/dropdb --if-exists "$db"
	$PG_BIN/createdb -E "$enc" --locale=C -T template0 "$db"
	out=$($PG_BIN/psql -X -q -d "$db" -c "CREATE EXTENSION ar_collect" 2>&1)
	check "a $enc database: CREATE EXTENSION refused, the reason given" \
		grep -q "ar_collect needs a UTF8 database, not $enc" <<<"$out"
	$PG_BIN/dropdb "$db"
done
db=ar_encoding_utf8
fresh_databases $db
check "a UTF8 database: CREATE EXTENSION works" q $db "CREATE EXTENSION ar_collect"
$PG_BIN/dropdb "$db"
