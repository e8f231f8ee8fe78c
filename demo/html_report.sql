-- Self-contained HTML report of the analytics (SVG charts drawn from the
-- views and functions of ar_collect, no script, no external file).
-- psql variables: as_of (date the report stands on), report_path (file to
-- write).  Used by demo/steps/60_analytics.sql and test/t/html_report.sh:
--   psql -v as_of=2026-11-20 -v report_path=/tmp/report.html -f demo/html_report.sql
\set ON_ERROR_STOP on
SET client_min_messages = warning;

-- A vertical bar chart: one bar per label, optional low/high whiskers.
CREATE OR REPLACE FUNCTION pg_temp.bar_chart(chart_id text, title text, labels text[], vals numeric[],
                                             lows numeric[] DEFAULT NULL, highs numeric[] DEFAULT NULL)
RETURNS text LANGUAGE sql IMMUTABLE AS $f$
	WITH d AS (
		SELECT i, labels[i] AS label, coalesce(vals[i], 0) AS v, lows[i] AS lo, highs[i] AS hi
		  FROM generate_subscripts(labels, 1) i
	), m AS (
		SELECT greatest(max(greatest(abs(v), coalesce(hi, 0))), 1) AS top, count(*) AS n FROM d
	)
	SELECT format('<figure><figcaption>%s</figcaption><svg id="%s" class="chart" xmlns="http://www.w3.org/2000/svg" width="720" height="260" viewBox="0 0 720 260" role="img" aria-label="%s">',
	              ar.html_escape(title), ar.html_escape(chart_id), ar.html_escape(title))
	       || '<line x1="60" y1="220" x2="710" y2="220" stroke="#333"/>'
	       || format('<text x="55" y="24" text-anchor="end" font-size="10">%s</text>', to_char(m.top, 'FM999G999G999G990'))
	       || string_agg(
	            format('<rect class="bar" x="%s" y="%s" width="%s" height="%s" fill="#3b6ea8"><title>%s: %s</title></rect>',
	                   round(60 + (d.i - 1) * 650.0 / m.n + 4, 1), round(220 - 200 * abs(d.v) / m.top, 1),
	                   round(650.0 / m.n - 8, 1), round(200 * abs(d.v) / m.top, 1), ar.html_escape(d.label), to_char(d.v, 'FM999G999G999G990D00'))
	            || CASE WHEN d.hi IS NOT NULL THEN
	                 format('<line class="band" x1="%s" x2="%s" y1="%s" y2="%s" stroke="#c0392b" stroke-width="2"/>',
	                        round(60 + (d.i - 0.5) * 650.0 / m.n, 1), round(60 + (d.i - 0.5) * 650.0 / m.n, 1),
	                        round(220 - 200 * coalesce(d.lo, 0) / m.top, 1), round(220 - 200 * d.hi / m.top, 1))
	               ELSE '' END
	            || format('<text x="%s" y="236" text-anchor="middle" font-size="10">%s</text>',
	                      round(60 + (d.i - 0.5) * 650.0 / m.n, 1), ar.html_escape(d.label)),
	            '' ORDER BY d.i)
	       || '</svg></figure>'
	  FROM d, m
	 GROUP BY m.top, m.n
$f$;

-- A line chart of one or two series over the same labels.
CREATE OR REPLACE FUNCTION pg_temp.line_chart(chart_id text, title text, labels text[], a numeric[], a_name text,
                                              b numeric[], b_name text)
RETURNS text LANGUAGE sql IMMUTABLE AS $f$
	WITH d AS (
		SELECT i, labels[i] AS label, a[i] AS va, b[i] AS vb FROM generate_subscripts(labels, 1) i
	), m AS (
		SELECT greatest(max(greatest(coalesce(va, 0), coalesce(vb, 0))), 1) AS top, greatest(count(*) - 1, 1) AS n FROM d
	)
	SELECT format('<figure><figcaption>%s</figcaption><svg id="%s" class="chart" xmlns="http://www.w3.org/2000/svg" width="720" height="260" viewBox="0 0 720 260" role="img" aria-label="%s">',
	              ar.html_escape(title), ar.html_escape(chart_id), ar.html_escape(title))
	       || '<line x1="60" y1="220" x2="710" y2="220" stroke="#333"/>'
	       || format('<text x="55" y="24" text-anchor="end" font-size="10">%s days</text>', round(m.top))
	       || format('<polyline class="series" fill="none" stroke="#3b6ea8" stroke-width="2" points="%s"/>',
	                 string_agg(format('%s,%s', round(60 + (d.i - 1) * 650.0 / m.n, 1), round(220 - 200 * d.va / m.top, 1)), ' ' ORDER BY d.i)
	                   FILTER (WHERE d.va IS NOT NULL))
	       || format('<polyline class="series" fill="none" stroke="#e67e22" stroke-width="2" points="%s"/>',
	                 string_agg(format('%s,%s', round(60 + (d.i - 1) * 650.0 / m.n, 1), round(220 - 200 * d.vb / m.top, 1)), ' ' ORDER BY d.i)
	                   FILTER (WHERE d.vb IS NOT NULL))
	       || string_agg(CASE WHEN d.i % 3 = 1 THEN format('<text x="%s" y="236" text-anchor="middle" font-size="10">%s</text>',
	                                                     round(60 + (d.i - 1) * 650.0 / m.n, 1), ar.html_escape(d.label)) ELSE '' END, '' ORDER BY d.i)
	       || format('<text x="70" y="252" font-size="11" fill="#3b6ea8">%s</text><text x="260" y="252" font-size="11" fill="#e67e22">%s</text>', ar.html_escape(a_name), ar.html_escape(b_name))
	       || '</svg></figure>'
	  FROM d, m
	 GROUP BY m.top, m.n
$f$;

-- Dunning notices by level, when dunning has landed.
CREATE OR REPLACE FUNCTION pg_temp.notices_by_level(as_of date) RETURNS TABLE (level integer, notices bigint)
LANGUAGE plpgsql AS $f$
BEGIN
	IF to_regclass('ar.dunning_notice') IS NOT NULL THEN
		RETURN QUERY EXECUTE 'SELECT level::integer, count(*) FROM ar.dunning_notice WHERE as_of <= $1 GROUP BY level ORDER BY level' USING as_of;
	END IF;
END $f$;

SELECT
'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>ar_collect: receivables on ' || ar.html_escape(:'as_of') || '</title>'
|| '<style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#eee}figure{margin:1.5em 0}figcaption{font-weight:bold}</style></head><body>'
|| '<h1>Receivables on ' || ar.html_escape(:'as_of') || ' (' || ar.html_escape(k.currency) || ')</h1>'
|| '<table id="kpis"><tr><th>receivables</th><th>overdue</th><th>DSO standard</th><th>DSO countback</th><th>best possible DSO</th><th>CEI %</th><th>collection rate %</th><th>days to pay</th></tr>'
|| format('<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr></table>',
          to_char(k.receivables, 'FM999G999G999G990D00'), to_char(k.overdue, 'FM999G999G999G990D00'),
          round(k.dso_standard, 1), round(k.dso_countback, 1), round(k.best_possible_dso, 1),
          round(k.cei_pct, 1), round(k.collection_rate_pct, 1), round(k.average_days_to_pay, 1))
|| (SELECT pg_temp.bar_chart('aging', 'Aging by bucket (days past due, ' || k.currency || ')',
                             ARRAY['not due', '1-30', '31-60', '61-90', '91+'],
                             ARRAY[sum(not_due), sum(d1_30), sum(d31_60), sum(d61_90), sum(d91_plus)])
      FROM ar.aging_report(:'as_of') WHERE currency = k.currency)
|| (SELECT pg_temp.line_chart('dso', 'DSO at each month-end (90 days)',
                              array_agg(to_char(h.as_of, 'YYYY-MM') ORDER BY h.as_of),
                              array_agg(round(h.dso_standard, 1) ORDER BY h.as_of), 'standard',
                              array_agg(round(h.dso_countback, 1) ORDER BY h.as_of), 'countback')
      FROM ar.kpi_history(:'as_of', 24) h)
|| coalesce((SELECT pg_temp.bar_chart('forecast', 'Cash forecast per week, with its 80% band (' || k.currency || ')',
                                       array_agg(to_char(f.period_start, 'MM-DD') ORDER BY f.period_start),
                                       array_agg(f.expected ORDER BY f.period_start),
                                       array_agg(f.low ORDER BY f.period_start), array_agg(f.high ORDER BY f.period_start))
               FROM ar.cash_forecast(:'as_of', 91, 'week') f
              WHERE EXISTS (SELECT 1 FROM ar.payment_model)), '<p>No payment model: no cash forecast.</p>')
|| coalesce((SELECT pg_temp.bar_chart('notices', 'Dunning notices by level',
                                       array_agg('level ' || n.level ORDER BY n.level), array_agg(n.notices::numeric ORDER BY n.level))
               FROM pg_temp.notices_by_level(:'as_of') n HAVING count(*) > 0),
            '<p id="no-dunning">Dunning notices: none (dunning not installed or no notice yet).</p>')
|| '<h2>Riskiest customers</h2><table id="risk"><tr><th>customer</th><th>name</th><th>exposure</th><th>overdue</th><th>p(late)</th></tr>'
|| coalesce((SELECT string_agg(format('<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>',
                                     ar.html_escape(r.customer_code), ar.html_escape(r.customer_name),
                                     to_char(r.exposure, 'FM999G999G999G990D00'), to_char(r.overdue, 'FM999G999G999G990D00'),
                                     coalesce(round(r.p_late, 2)::text, '')), '' ORDER BY r.ord)
               FROM (SELECT x.*, row_number() OVER () AS ord FROM ar.customer_risk_on(:'as_of') x LIMIT 10) r), '')
|| '</table></body></html>' AS html
  FROM ar.kpis(:'as_of') k
\gset
\o :report_path
\qecho :html
\o
