#!/usr/bin/env bash
# bench/penalties.sh [ROWS] -- how fast is ar.late_penalty?
#
# Builds and installs ar_collect, starts a throwaway cluster (stopped and
# removed on exit), loads ROWS late-payment cases (default 1,000,000:
# amounts numeric(14,2) from 10 to 20,000, due dates 2019-2025, delays of 0
# to 400 days, the six statutory regimes mixed as a European ledger would
# mix them), VACUUM ANALYZE, then times, serially (no parallel workers):
#   scan     SELECT sum(amount)                                  -- the scan limit
#   C        SELECT sum((ar.late_penalty(...)).total)            -- the engine
#   PL/pgSQL the same rules written in PL/pgSQL, reading the same tables
#            (ar.penalty_regime, ar.penalty_regime_fee, ar.reference_rate)
#            period by period as a careful hand-written version would
# The C query runs once to warm up, then AR_BENCH_RUNS times (default 3);
# PL/pgSQL is much slower and runs AR_BENCH_PLPGSQL_RUNS times (default 1),
# after a warm-up on 1 % of the rows.  Times are measured inside the server
# (clock_timestamp() around EXECUTE).  Both versions must agree on every
# row, else the script fails.  Target: C at least 10 times faster.  Then
# the C query runs once more in a fresh session that reports its peak
# memory (VmHWM, the shared buffers it touched included); a summary line
# gives the ratio and that memory (bench/README.md's table).
#
# Environment: AR_BENCH_PORT (default 55443), AR_BENCH_RUNS,
# AR_BENCH_PLPGSQL_RUNS, AR_BENCH_NO_BUILD=1 to use the installed extension,
# AR_BENCH_SETTINGS: extra postgresql.conf lines separated by ';'.
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"

ROWS=${1:-1000000}
PORT=${AR_BENCH_PORT:-55443}
RUNS=${AR_BENCH_RUNS:-3}
PLPGSQL_RUNS=${AR_BENCH_PLPGSQL_RUNS:-1}
TARGET=10
[[ "$ROWS" =~ ^[0-9]+$ ]] || { echo "usage: $0 [ROWS]" >&2; exit 2; }

bench_prepare penalties_bench
IFS=';' read -r -a extra_settings <<<"${AR_BENCH_SETTINGS:-}"
cluster_start "$WORK/cluster" "$PORT" "ar_collect.enabled = off" "shared_buffers = '1GB'" \
	"${extra_settings[@]}" || { cat "$WORK/cluster/server.log" >&2; exit 1; }

sql() { $PG_BIN/psql -X -q -v ON_ERROR_STOP=1 -At -d postgres "$@"; }

log "loading $ROWS cases"
sql -v ROWS="$ROWS" <<'EOF'
CREATE EXTENSION ar_collect;
SELECT setseed(0.42);
CREATE TABLE bench_penalty (
	id        bigint,
	regime    text,
	amount    numeric(14,2),
	due_date  date,
	paid_on   date
);
-- the regimes mixed as in a European ledger; 30 % paid on time or early
INSERT INTO bench_penalty
SELECT g, CASE WHEN x < 0.50 THEN 'FR_LME' WHEN x < 0.65 THEN 'DE_B2B' WHEN x < 0.70 THEN 'DE_B2C'
               WHEN x < 0.80 THEN 'EU_2011_7' WHEN x < 0.90 THEN 'UK_LPA' ELSE 'FR_PUBLIC' END,
       amount, due, least(due + delay, DATE '2026-06-30')
  FROM (SELECT g, random() AS x, round((10 * exp(random() * ln(2000)))::numeric, 2) AS amount,
               DATE '2019-01-01' + floor(random() * 2557)::int AS due,
               CASE WHEN random() < 0.3 THEN -floor(random() * 10)::int ELSE floor(random() * 400)::int END AS delay
          FROM generate_series(1, :ROWS) g) s;
VACUUM ANALYZE bench_penalty;

CREATE SCHEMA bench;

-- The penalty rules of doc/contract.md written in PL/pgSQL, from the same
-- tables: period by period (a period ends where the rate may change), rate
-- lookups by index, the exact numeric sum rounded once, the same errors
-- for unknown and unverified rates.
CREATE FUNCTION bench.half_start(d date) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
	SELECT make_date(extract(year FROM d)::int, CASE WHEN extract(month FROM d) <= 6 THEN 1 ELSE 7 END, 1)
$$;

CREATE FUNCTION bench.late_penalty_plpgsql(amount numeric, due_date date, paid_on date, regime text DEFAULT 'FR_LME')
RETURNS ar.penalty
LANGUAGE plpgsql STABLE AS $$
DECLARE
	r ar.penalty_regime;
	first_late date := due_date + 1;
	d date;
	next_d date;
	basis_day date;
	ref date;
	rate_row record;
	known date;
	numerator numeric := 0;
	fee numeric := 0;
	interest numeric;
BEGIN
	IF amount IS NULL OR due_date IS NULL OR paid_on IS NULL OR regime IS NULL THEN
		RAISE EXCEPTION 'arguments must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF amount < 0 THEN
		RAISE EXCEPTION 'amount must not be negative, not %', amount USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT * INTO r FROM ar.penalty_regime p WHERE p.regime = late_penalty_plpgsql.regime;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown penalty regime "%"', regime USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF paid_on <= due_date OR amount = 0 THEN
		RETURN ROW(greatest(paid_on - due_date, 0), round(0, r.rounding_scale), round(0, 2), round(0, 2))::ar.penalty;
	END IF;
	SELECT max(coalesce(x.confirmed_through, x.effective_from)) INTO known
	  FROM ar.reference_rate x WHERE x.series = r.rate_series;
	d := first_late;
	WHILE d <= paid_on LOOP
		basis_day := CASE WHEN r.rate_fixed THEN first_late ELSE d END;
		ref := CASE r.rate_date
			WHEN 'half_year_start' THEN bench.half_start(basis_day)
			WHEN 'previous_half_year_end' THEN bench.half_start(basis_day) - 1
			ELSE basis_day END;
		SELECT x.effective_from, x.rate, x.status INTO rate_row
		  FROM ar.reference_rate x
		 WHERE x.series = r.rate_series AND x.effective_from <= ref
		 ORDER BY x.effective_from DESC, x.shipped LIMIT 1;
		IF NOT FOUND OR ref > known THEN
			RAISE EXCEPTION 'no known rate for series % on %', r.rate_series, ref USING ERRCODE = 'no_data_found';
		ELSIF rate_row.status = 'unverified' THEN
			RAISE EXCEPTION 'the rate of series % on % is not verified', r.rate_series, ref USING ERRCODE = 'no_data_found';
		END IF;
		IF r.rate_fixed THEN
			next_d := paid_on + 1;
		ELSIF r.rate_date = 'day' THEN
			SELECT min(x.effective_from) INTO next_d FROM ar.reference_rate x
			 WHERE x.series = r.rate_series AND x.effective_from > d;
			next_d := least(coalesce(next_d, known + 1), known + 1, paid_on + 1);
		ELSE
			next_d := least((bench.half_start(d) + interval '6 months')::date, paid_on + 1);
		END IF;
		numerator := numerator + amount * (rate_row.rate + r.margin) * (next_d - d);
		d := next_d;
	END LOOP;
	interest := round(numerator / (100 * r.day_basis), r.rounding_scale);
	SELECT f.fee INTO fee FROM ar.penalty_regime_fee f
	 WHERE f.regime = r.regime AND f.currency = r.currency AND f.min_amount <= amount
	 ORDER BY f.min_amount DESC LIMIT 1;
	fee := coalesce(fee, 0);
	RETURN ROW(paid_on - due_date, round(interest, 2), round(fee, 2), round(interest + fee, 2))::ar.penalty;
END $$;

CREATE FUNCTION bench.time_ms(q text) RETURNS double precision
LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz := clock_timestamp();
BEGIN
	EXECUTE q;
	RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END $$;

CREATE FUNCTION bench.median_ms(q text, runs integer) RETURNS double precision
LANGUAGE plpgsql AS $$
DECLARE
	times double precision[] := '{}';
BEGIN
	FOR i IN 1..runs LOOP
		times := times || bench.time_ms(q);
	END LOOP;
	RETURN (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY t) FROM unnest(times) t);
END $$;
EOF
sql -c "SELECT count(*) FROM bench_penalty" >/dev/null

C_QUERY="SELECT sum((ar.late_penalty(amount, due_date, paid_on, regime)).total) FROM bench_penalty"
P_QUERY="SELECT sum((bench.late_penalty_plpgsql(amount, due_date, paid_on, regime)).total) FROM bench_penalty"

log "checking that C and PL/pgSQL agree on every row"
mismatches=$(sql -c "SET max_parallel_workers_per_gather = 0" -c "
SELECT count(*) FROM bench_penalty b,
       ar.late_penalty(b.amount, b.due_date, b.paid_on, b.regime) c,
       bench.late_penalty_plpgsql(b.amount, b.due_date, b.paid_on, b.regime) p
 WHERE c IS DISTINCT FROM p")
read -r late regimes <<<"$(sql -F ' ' -c "SELECT count(*) FILTER (WHERE paid_on > due_date), count(DISTINCT regime) FROM bench_penalty")"

log "timing: scan and C ($RUNS runs each), PL/pgSQL ($PLPGSQL_RUNS run)"
read -r scan_ms c_ms p_ms totals_agree <<<"$(sql -F ' ' -c "SET max_parallel_workers_per_gather = 0" -c "
SELECT bench.time_ms('$C_QUERY');  -- warm-up
SELECT bench.time_ms(\$q\$SELECT sum((bench.late_penalty_plpgsql(amount, due_date, paid_on, regime)).total)
                         FROM bench_penalty WHERE id % 100 = 0\$q\$);  -- warm-up
SELECT round(bench.median_ms('SELECT sum(amount) FROM bench_penalty', $RUNS)::numeric, 1),
       round(bench.median_ms('$C_QUERY', $RUNS)::numeric, 1),
       round(bench.median_ms('$P_QUERY', $PLPGSQL_RUNS)::numeric, 1),
       ($C_QUERY) = ($P_QUERY)" | tail -1)"

# the peak memory of a fresh backend running the C query once
hwm=$(sql -c "SET max_parallel_workers_per_gather = 0" -c '\o /dev/null' -c "$C_QUERY" -c '\o' -c "$BENCH_HWM_SQL" | tail -1)

ratio=$(awk -v c="$c_ms" -v p="$p_ms" 'BEGIN { printf "%.1f", p / c }')
per_row=$(awk -v c="$c_ms" -v s="$scan_ms" -v n="$ROWS" 'BEGIN { printf "%.2f", (c - s) * 1000 / n }')
verdict=$(awk -v r="$ratio" -v t="$TARGET" 'BEGIN { print (r >= t) ? "PASS" : "FAIL" }')

echo
echo "ar.late_penalty benchmark: $ROWS rows ($late late, $regimes regimes), $(nproc) cores, PostgreSQL $($PG_CONFIG --version | awk '{print $2}'), jit $(sql -c 'SHOW jit'), serial"
echo
echo "| rows | scan ms | C ms | PL/pgSQL ms | C µs/row over scan | PL/pgSQL / C (target >= $TARGET) | result |"
echo "|---:|---:|---:|---:|---:|---:|---|"
echo "| $ROWS | $scan_ms | $c_ms | $p_ms | $per_row | $ratio | $verdict |"
echo
echo "peak memory of a fresh backend running the C query once (VmHWM, shared buffers touched included): $hwm MB"
bench_summary "penalties.sh: ar.late_penalty (C) vs the same rules in PL/pgSQL" "$ROWS rows" \
	"PL/pgSQL takes ${ratio} x C; C $(awk -v c="$c_ms" -v s="$scan_ms" 'BEGIN { printf "%.1f", c / s }') x the scan" ">= $TARGET (PL/pgSQL / C)" "$hwm"
status=0
if [ "$mismatches" = 0 ] && [ "$totals_agree" = t ]; then
	echo "C and PL/pgSQL agree on every row: yes"
else
	echo "C and PL/pgSQL agree on every row: NO ($mismatches rows differ)"
	status=1
fi
[ "$verdict" = PASS ] || status=1
exit $status
