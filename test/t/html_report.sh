#!/usr/bin/env bash
# The demo's HTML report (demo/html_report.sql) on generated test data,
# opened in headless Chromium (Debian's chromium): the SVG charts must be in
# the rendered DOM.  Prints TAP; run by tools/test.sh on its cluster.
set -uo pipefail
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
db=ar_html_report
work=$(mktemp -d /tmp/ar_html.XXXXXX)
chmod 777 "$work"
trap 'rm -rf "$work"' EXIT
echo "1..6"
$PG_BIN/dropdb --if-exists $db 2>/dev/null
$PG_BIN/createdb $db
$PG_BIN/psql -X -q -v ON_ERROR_STOP=1 -d $db -c 'CREATE EXTENSION ar_collect' -f "$ROOT/demo/generate.sql" \
	-c "SELECT count(*) FROM ar_demo.generate(60, 3000, seed => 0.3)" \
	-c "SELECT ar.train_payment_model('2026-11-20')" \
	-c "UPDATE ar.customer SET name = '<script>alert(1)</script> & \"Co\" <b>' WHERE id = (SELECT customer_id FROM ar.customer_risk_on('2026-11-20') LIMIT 1)" >/dev/null 2>&1
$PG_BIN/psql -X -q -v ON_ERROR_STOP=1 -d $db -v as_of=2026-11-20 -v report_path="$work/report.html" \
	-f "$ROOT/demo/html_report.sql" >/dev/null 2>"$work/psql.err"
n=0
check() { n=$((n + 1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fi; }
check "demo/html_report.sql writes the report" '[ -s "$work/report.html" ] || { cat "$work/psql.err" | sed "s/^/# /"; false; }'
check "a customer name with HTML is escaped in the report (ar.html_escape)" \
	'grep -qF "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Co&quot; &lt;b&gt;" "$work/report.html" && ! grep -qF "<script" "$work/report.html"'
browser=$(command -v chromium || true)
if [ -z "$browser" ]; then
	for i in 3 4 5 6; do echo "not ok $i - chromium is not installed"; done
else
	timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
		--disable-sync --no-first-run --user-data-dir="$work/profile" --dump-dom "file://$work/report.html" \
		>"$work/dom.html" 2>"$work/chromium.err"
	check "headless Chromium renders it" '[ -s "$work/dom.html" ] && grep -q "</html>" "$work/dom.html"'
	check "the DOM holds the aging, DSO and cash forecast SVG charts" \
		'grep -q "<svg id=\"aging\"" "$work/dom.html" && grep -q "<svg id=\"dso\"" "$work/dom.html" && grep -q "<svg id=\"forecast\"" "$work/dom.html"'
	check "the aging chart has its five bars and the forecast its bands" \
		'[ "$(grep -o "<rect class=\"bar\"" "$work/dom.html" | wc -l)" -ge 10 ] && grep -q "class=\"band\"" "$work/dom.html"'
	check "the notices section says whether dunning is there" \
		'grep -q "id=\"notices\"\|id=\"no-dunning\"" "$work/dom.html"'
fi
$PG_BIN/dropdb $db
