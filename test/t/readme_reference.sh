#!/usr/bin/env bash
# Every public object of a fresh install (schema ar: the functions,
# aggregates, tables, views and types whose names do not start with an
# underscore; not the support functions of a type, operator or aggregate) is named in README.md's reference, as `ar.name` in a table row
# ("| `ar.name...") that says in which version it was added.  Prints TAP;
# run by tools/test.sh against its throwaway cluster.
set -uo pipefail
source "$(dirname "$0")/../../tools/tap.sh"
readme="$(dirname "$0")/../../README.md"
db=ar_readme_reference

echo "1..3"
fresh_databases $db
q $db "CREATE EXTENSION ar_collect" >/dev/null
objects=$(q $db "
	SELECT DISTINCT 'ar.' || p.proname FROM pg_proc p
	 WHERE p.pronamespace = 'ar'::regnamespace AND p.proname !~ '^_'
	   -- the functions behind a type, an operator or an aggregate are documented with it
	   AND NOT EXISTS (SELECT 1 FROM pg_type t WHERE p.oid IN (t.typinput, t.typoutput, t.typreceive, t.typsend))
	   AND NOT EXISTS (SELECT 1 FROM pg_operator o WHERE o.oprcode = p.oid)
	   AND NOT EXISTS (SELECT 1 FROM pg_amproc a WHERE a.amproc = p.oid)
	   AND NOT EXISTS (SELECT 1 FROM pg_aggregate g
	                    WHERE p.oid IN (g.aggtransfn, g.aggfinalfn, g.aggcombinefn, g.aggserialfn, g.aggdeserialfn))
	UNION SELECT 'ar.' || c.relname FROM pg_class c
	 WHERE c.relnamespace = 'ar'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm') AND c.relname !~ '^_'
	UNION SELECT 'ar.' || t.typname FROM pg_type t
	 WHERE t.typnamespace = 'ar'::regnamespace AND t.typtype IN ('b', 'd', 'e', 'c') AND t.typname !~ '^_'
	   AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.reltype = t.oid AND c.relkind <> 'c')
	ORDER BY 1")
check "the install has public objects to look for" test "$(wc -l <<<"$objects")" -gt 200

# the reference's rows: a table row whose first cell names one or more
# `ar.x` objects and whose second cell is a version (an escaped \| inside a
# cell is not a cell's end)
rows=$(sed 's/\\|/\\!/g' "$readme" | grep -E '^\| `ar\.' | grep -E '^\|[^|]*\| *[0-9]+\.[0-9]+\.[0-9]+ *\|')
in_reference() { grep -qE "^\|[^|]*\`$1[\`( ]" <<<"$rows"; }
missing=""
while read -r name; do
	in_reference "$name" || missing+=" $name"
done <<<"$objects"
check "every public object has a row in README.md's reference" test -z "$missing"
[ -z "$missing" ] || echo "# not in README.md's reference:$missing"
# the match is exact: a name is not found as the prefix of another
check "the match finds ar.invoice and not ar.invoic" bash -c "$(declare -p rows); $(declare -f in_reference); in_reference ar.invoice && ! in_reference ar.invoic"
$PG_BIN/dropdb $db
