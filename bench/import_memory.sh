#!/usr/bin/env bash
# bench/import_memory.sh [LINES] [CAMT_ENTRIES] -- how much memory does
# ar.import_statement take on a large file?
#
# Builds and installs ar_collect, starts a throwaway cluster (stopped and
# removed on exit), generates
#   - a CSV statement of LINES lines (default 1,000,000; one account, one
#     statement_ref, opening and closing balances that agree with the lines,
#     about 160 bytes a line: dates, amount with cents and a sign, payer name,
#     a valid IBAN, remittance text with an invoice number, end-to-end id),
#   - a camt.053 statement of CAMT_ENTRIES entries (default 200,000; 0 skips
#     it), each entry with one transaction (references, parties, remittance),
# stages each file in a table (read with pg_read_file: the text arrives in
# the backend as a TOAST value, as from a client's bind parameter), then, in
# a fresh session each, imports it (autocommit: the audit trail is sealed at
# commit, inside the measure) and imports it again (the duplicate statement:
# nothing stored, the same id).
#
# For each import it reports the backend's peak resident memory (VmHWM of
# /proc/<pid>/status, read by the session itself after the statement: the
# kernel's high-water mark, nothing sampled), its peak private memory
# (RssAnon sampled every 100 ms from outside: what palloc holds, without the
# shared buffers the backend touched) and the elapsed time.  shared_buffers is
# 32MB, so that VmHWM counts at most 32 MB of shared memory.
# Target: the first CSV import below 300 MB VmHWM (the input text included).
# It also checks the rows: LINES lines stored, the statement balanced, the
# second import returned the same id and stored nothing.  Exits 1 when a
# target or a check fails.
#
# Environment: AR_BENCH_PORT (default 55440), AR_BENCH_NO_BUILD=1 to use the
# installed extension as it is, AR_BENCH_SETTINGS: extra postgresql.conf
# lines separated by ';'.
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"

LINES=${1:-1000000}
CAMT=${2:-200000}
PORT=${AR_BENCH_PORT:-55440}
TARGET_MB=300
[[ "$LINES" =~ ^[0-9]+$ ]] && [ "$LINES" -ge 1 ] && [[ "$CAMT" =~ ^[0-9]+$ ]] ||
	{ echo "usage: $0 [LINES >= 1] [CAMT_ENTRIES]" >&2; exit 2; }

bench_prepare import_memory
IFS=';' read -r -a extra_settings <<<"${AR_BENCH_SETTINGS:-}"
cluster_start "$WORK/cluster" "$PORT" "ar_collect.enabled = off" "shared_buffers = '32MB'" "max_wal_size = '4GB'" \
	"autovacuum = off" "${extra_settings[@]}" || { cat "$WORK/cluster/server.log" >&2; exit 1; }

sql() { $PG_BIN/psql -X -q -v ON_ERROR_STOP=1 -At -d postgres "$@"; }

log "generating a CSV statement of $LINES lines"
awk -v n="$LINES" 'BEGIN {
	srand(42);
	split("DE89370400440532013000 FR7630006000011234567890189 NL91ABNA0417164300 BE68539007547034 GB29NWBK60161331926819", ibans, " ");
	split("Dupont SARL|Meyer GmbH|Jansen BV|Smith Ltd|Rossi SpA", names, "|");
	print "account,statement_ref,booking_date,value_date,amount,counterparty_name,counterparty_iban,remittance_info,end_to_end_id,opening_balance,closing_balance";
	total = 0;
	for (i = 1; i <= n; i++) {
		cents = int(rand() * 1000000) + 1;
		if (rand() < 0.1) cents = -cents;
		total += cents;
		day = 1 + i % 28;
		k = 1 + i % 5;
		opening = (i == 1) ? "1000.00" : "";
		closing = (i == n) ? sprintf("%.2f", (100000 + total) / 100) : "";
		printf "FR7630006000011234567890189,BENCH-%d,2026-03-%02d,2026-03-%02d,%.2f,%s,%s,Payment of invoice FA-%09d customer %06d thank you,E2E-%012d,%s,%s\n",
			n, day, day, cents / 100, names[k], ibans[k], i, i % 100000, i, opening, closing;
	}
}' > "$WORK/statement.csv"

if [ "$CAMT" -gt 0 ]; then
	log "generating a camt.053 statement of $CAMT entries"
	awk -v n="$CAMT" 'BEGIN {
		srand(43);
		total = 0;
		for (i = 1; i <= n; i++) { c[i] = int(rand() * 1000000) + 1; total += c[i]; }
		print "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
		print "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\">";
		print "<BkToCstmrStmt><GrpHdr><MsgId>BENCH-MSG</MsgId><CreDtTm>2026-04-01T06:00:00</CreDtTm></GrpHdr>";
		print "<Stmt><Id>BENCH-CAMT</Id><ElctrncSeqNb>1</ElctrncSeqNb><Acct><Id><IBAN>FR7630006000011234567890189</IBAN></Id><Ccy>EUR</Ccy></Acct>";
		print "<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"EUR\">1000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-03-01</Dt></Dt></Bal>";
		printf "<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"EUR\">%.2f</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-03-31</Dt></Dt></Bal>\n", (100000 + total) / 100;
		for (i = 1; i <= n; i++) {
			day = 1 + i % 28;
			printf "<Ntry><Amt Ccy=\"EUR\">%.2f</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2026-03-%02d</Dt></BookgDt><ValDt><Dt>2026-03-%02d</Dt></ValDt><AcctSvcrRef>BANK-%010d</AcctSvcrRef>", c[i] / 100, day, day, i;
			printf "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd><NtryDtls><TxDtls><Refs><EndToEndId>E2E-%012d</EndToEndId></Refs>", i;
			printf "<RltdPties><Dbtr><Nm>Customer %06d SARL</Nm></Dbtr><DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct></RltdPties><RmtInf><Ustrd>Invoice FA-%09d</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>\n", i % 100000, i;
		}
		print "</Stmt></BkToCstmrStmt></Document>";
	}' > "$WORK/statement.camt"
fi
chmod 644 "$WORK"/statement.*

sql <<EOF
CREATE EXTENSION ar_collect;
CREATE TABLE bench_file (name text PRIMARY KEY, content text);
INSERT INTO bench_file VALUES ('csv', pg_read_file('$WORK/statement.csv'));
$( [ "$CAMT" -gt 0 ] && echo "INSERT INTO bench_file VALUES ('camt', pg_read_file('$WORK/statement.camt'));" )
CHECKPOINT;
EOF

# import NAME LABEL: one import of the staged file NAME in a fresh session;
# prints "LABEL vmhwm_mb rssanon_mb seconds ids stored_lines"
import() {
	local name=$1 label=$2 pidfile=$WORK/pid.$2 peakfile=$WORK/peak.$2 out
	rm -f "$pidfile" "$peakfile"
	# RssAnon sampled from outside while the session lives
	(
		while [ ! -s "$pidfile" ]; do sleep 0.05; done
		pid=$(cat "$pidfile") peak=0
		while [ -d "/proc/$pid" ] && [ ! -f "$WORK/done.$label" ]; do
			kb=$(awk '/^RssAnon/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
			[ "${kb:-0}" -gt "$peak" ] && peak=$kb
			echo "$peak" > "$peakfile"
			sleep 0.1
		done
	) &
	local sampler=$!
	out=$(sql -F ' ' <<EOF
SELECT pg_backend_pid() AS pid \gset
\setenv BENCH_PID :pid
\! echo \$BENCH_PID > $pidfile
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
SELECT count(*) AS n, min(i) AS ids FROM bench_file f, ar.import_statement(f.content) AS i WHERE f.name = '$name' \gset
SELECT round(extract(epoch FROM clock_timestamp()) - :t0, 1) AS secs \gset
\! touch $WORK/done.$label
SELECT '$label',
       (SELECT round((regexp_match(l, '\d+'))[1]::numeric / 1024) FROM regexp_split_to_table(pg_read_file('/proc/' || pg_backend_pid() || '/status'), E'\n') s(l) WHERE l LIKE 'VmHWM:%'),
       :secs, :ids,
       (SELECT count(*) FROM ar.bank_transaction t WHERE t.statement_id = :ids);
EOF
)
	wait "$sampler" || true
	rm -f "$WORK/done.$label"
	read -r lbl hwm secs ids lines <<<"$out"
	echo "$lbl $hwm $(( $(cat "$peakfile" 2>/dev/null || echo 0) / 1024 )) $secs $ids $lines"
}

results=()
log "importing the CSV statement ($(du -m "$WORK/statement.csv" | cut -f1) MB)"
results+=("$(import csv csv_first)")
log "importing it again (the same statement)"
results+=("$(import csv csv_again)")
if [ "$CAMT" -gt 0 ]; then
	log "importing the camt.053 statement ($(du -m "$WORK/statement.camt" | cut -f1) MB)"
	results+=("$(import camt camt_first)")
	log "importing it again"
	results+=("$(import camt camt_again)")
fi

csv_mb=$(du -m "$WORK/statement.csv" | cut -f1)
status=0
echo
echo "ar.import_statement memory: $LINES CSV lines ($csv_mb MB)$( [ "$CAMT" -gt 0 ] && echo ", $CAMT camt.053 entries ($(du -m "$WORK/statement.camt" | cut -f1) MB)"), $(nproc) cores, PostgreSQL $($PG_CONFIG --version | awk '{print $2}'), shared_buffers 32MB"
echo
echo "| import | peak RSS (VmHWM) MB | peak private (RssAnon) MB | seconds | lines of the statement |"
echo "|---|---:|---:|---:|---:|"
declare -A id_of
for r in "${results[@]}"; do
	read -r label hwm anon secs ids lines <<<"$r"
	id_of[$label]=$ids
	echo "| $label | $hwm | $anon | $secs | $lines |"
done
echo
read -r _ csv_hwm _ _ csv_id csv_lines <<<"${results[0]}"
balanced=$(sql -c "SELECT balanced FROM ar.bank_statement WHERE id = $csv_id")
stored=$(sql -c "SELECT count(*) FROM ar.bank_transaction")
expected_stored=$((LINES + (CAMT > 0 ? CAMT : 0)))
check() { if [ "$2" = yes ]; then echo "$1: yes"; else echo "$1: NO"; status=1; fi; }
check "CSV: $LINES lines stored, balanced" "$([ "$csv_lines" = "$LINES" ] && [ "$balanced" = t ] && echo yes || echo no)"
check "CSV again: the same id, nothing stored" "$([ "${id_of[csv_again]}" = "$csv_id" ] && echo yes || echo no)"
if [ "$CAMT" -gt 0 ]; then
	check "camt again: the same id" "$([ "${id_of[camt_again]}" = "${id_of[camt_first]}" ] && echo yes || echo no)"
fi
check "lines in ar.bank_transaction ($expected_stored expected)" "$([ "$stored" = "$expected_stored" ] && echo yes || echo no)"
verdict=$(awk -v h="$csv_hwm" -v t="$TARGET_MB" -v n="$LINES" 'BEGIN {
	printf "verdict: CSV import of %d lines peaks at %d MB (target < %d MB, ratio %.2f): %s", n, h, t, h / t, (h < t) ? "PASS" : "FAIL" }')
echo "$verdict"
bench_summary "import_memory.sh: ar.import_statement, CSV" "$LINES lines ($csv_mb MB)" \
	"$(awk -v h="$csv_hwm" -v t="$TARGET_MB" 'BEGIN { printf "%.2f", h / t }') x the memory target" "< $TARGET_MB MB" "$csv_hwm"
[[ "$verdict" == *PASS ]] || status=1
exit $status
