#!/usr/bin/env bash
# Builds the libFuzzer targets of the statement parsers (MT940, camt, CSV)
# and of the identifier input functions, with AddressSanitizer and
# UndefinedBehaviorSanitizer, and runs each for a bounded time, seeded from
# the real samples of ../shared/data (when present) and a few inputs of our
# own.  Needs Debian's clang (libFuzzer ships with it) and libxml2-dev.
#
#   bash fuzz/run.sh [SECONDS_PER_TARGET]     (default 60)
#   FUZZ_TARGETS="mt940 camt" bash fuzz/run.sh 30
#
# Crashes are written to fuzz/build/artifacts/ and make the script fail;
# the corpus grows in fuzz/build/corpus/ from run to run.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SECONDS_PER_TARGET=${1:-60}
TARGETS=${FUZZ_TARGETS:-"mt940 camt csv identifier"}
PG_CONFIG=${PG_CONFIG:-${AR_PG_BIN:+$AR_PG_BIN/}pg_config}
command -v "$PG_CONFIG" >/dev/null || PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
CC=${CC:-clang}
BUILD=$HERE/build
SHARED=${AR_SHARED_DATA:-$(cd "$ROOT/.." && pwd)/shared/data}

command -v "$CC" >/dev/null || { echo "fuzz/run.sh: $CC not found (apt-get install clang)" >&2; exit 2; }
mkdir -p "$BUILD/artifacts"

CFLAGS="-g -O1 -Wno-ignored-attributes -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
        -isystem $($PG_CONFIG --includedir-server) -I$ROOT/src -I$HERE -I/usr/include/libxml2"
LIBS="-L$($PG_CONFIG --pkglibdir) -lpgcommon -lpgport -lxml2 -lm"
SRC=$ROOT/src

build() {
	local name=$1; shift
	echo "== building fuzz_$name"
	# shellcheck disable=SC2086
	$CC $CFLAGS -o "$BUILD/fuzz_$name" "$@" "$HERE/pg_shim.c" $LIBS || exit 2
}

seed() {
	local name=$1 dir=$BUILD/corpus/$1
	mkdir -p "$dir"
	case $name in
	mt940)
		[ -d "$SHARED/statements/mt940" ] &&
			find "$SHARED/statements/mt940" -type f ! -name '*.json' ! -name '*.yml' ! -name '*.md' ! -name LICENSE \
				-exec cp {} "$dir/" \;
		printf ':20:X\n:25:DE89370400440532013000\n:28C:1/1\n:60F:C261119EUR1,00\n:61:2611201120CR1,00NTRFNONREF//B\n:86:166?00GUTSCHRIFT?20EREF+E?21SVWZ+RF18539007547034?32NAME\n:62F:C261120EUR2,00\n-\n' >"$dir/own-1"
		printf '{1:F01X}{4:\n:20:X\n:25:NL91ABNA0417164300EUR\n:60F:C261119EUR1,\n:61:261120RD1,N062NONREF\n:86:/EREF/A//CNTP/NL91ABNA0417164300/ABNANL2A/N///REMI/USTD//T/RTRN/MD06/\n:62M:C261120EUR2,\n-}\n' >"$dir/own-2"
		;;
	camt)
		[ -d "$SHARED/statements/camt" ] &&
			find "$SHARED/statements/camt" -type f -name 'test-camt05*' ! -name '*.zip' -exec cp {} "$dir/" \;
		printf '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><Stmt><Id>1</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct><Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-11-20</Dt></Dt></Bal><Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">3.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-11-20</Dt></Dt></Bal><Ntry><Amt Ccy="EUR">2.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-11-20</Dt></BookgDt><NtryDtls><TxDtls><Amt Ccy="EUR">1.50</Amt></TxDtls><TxDtls><Amt Ccy="EUR">0.50</Amt><RltdPties><Dbtr><Pty><Nm>N</Nm></Pty></Dbtr></RltdPties><RmtInf><Strd><CdtrRefInf><Ref>RF18539007547034</Ref></CdtrRefInf></Strd></RmtInf></TxDtls></NtryDtls></Ntry></Stmt></BkToCstmrStmt></Document>' >"$dir/own-1"
		;;
	csv)
		printf 'account;statement_ref;booking_date;value_date;amount;currency;credit_debit;counterparty_name;counterparty_iban;remittance_info;opening_balance;closing_balance\nDE89370400440532013000;S1;2026-11-20;20.11.2026;1,50;EUR;C;"A ""B"" C";FR7630006000011234567890189;"x\ny RF18539007547034";1;2.50\n' >"$dir/own-1"
		printf 'account,booking_date,amount,return_reason\nX,21/11/2026,-3,MD06\n' >"$dir/own-2"
		;;
	identifier)
		if [ -d "$SHARED/iban-rf" ]; then
			i=0
			for f in iban_valid.txt iban_invalid.txt rf_valid.txt; do
				[ -f "$SHARED/iban-rf/$f" ] || continue
				head -n 60 "$SHARED/iban-rf/$f" | while IFS= read -r line; do
					i=$((i + 1)); printf '%s' "$line" >"$dir/$f-$i"
				done
			done
		fi
		printf 'fr76 3000 6000 0112 3456 7890 189' >"$dir/own-1"
		printf 'RF18 5390 0754 7034' >"$dir/own-2"
		;;
	esac
}

build mt940 -DFUZZ_PARSER=mt940_parse "$HERE/fuzz_statement.c" "$SRC/mt940.c" "$SRC/statement.c" "$SRC/identifier.c" "$SRC/iban.c" "$SRC/creditor_ref.c"
build camt -DFUZZ_PARSER=camt_parse "$HERE/fuzz_statement.c" "$SRC/camt.c" "$SRC/statement.c" "$SRC/identifier.c" "$SRC/iban.c" "$SRC/creditor_ref.c"
build csv -DFUZZ_PARSER=statement_csv_parse "$HERE/fuzz_statement.c" "$SRC/statement_csv.c" "$SRC/statement.c" "$SRC/identifier.c" "$SRC/iban.c" "$SRC/creditor_ref.c"
build identifier "$HERE/fuzz_identifier.c" "$SRC/identifier.c" "$SRC/iban.c" "$SRC/creditor_ref.c"

failed=0
for t in $TARGETS; do
	seed "$t"
	echo "== fuzz_$t for ${SECONDS_PER_TARGET}s ($(ls "$BUILD/corpus/$t" | wc -l) inputs in the corpus)"
	dict=()
	[ -f "$HERE/$t.dict" ] && dict=(-dict="$HERE/$t.dict")
	if ! "$BUILD/fuzz_$t" "${dict[@]}" -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$t-" \
		"$BUILD/corpus/$t" >"$BUILD/$t.log" 2>&1; then
		failed=1
		echo "fuzz_$t FAILED: see $BUILD/$t.log and $BUILD/artifacts/"
		grep -E 'ERROR: |SUMMARY|broken invariant|pg_shim' "$BUILD/$t.log" | head -5
	fi
	grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$BUILD/$t.log" | tr '\n' ' '
	echo
done
[ $failed -eq 0 ] && echo "fuzz: no crash in ${SECONDS_PER_TARGET}s per target" || echo "fuzz: crashes found"
exit $failed
