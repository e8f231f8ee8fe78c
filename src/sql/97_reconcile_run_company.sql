-- ---------------------------------------------------------------------------
-- ar.reconcile_run per company (issue 14, doc/scale_out.md "Keys"):
-- company_id NOT NULL, keyed (id, company_id), which the decisions
-- (set-wise, 73_reconcile_references.sql) and the proposals (a foreign
-- key) name, so that on Citus a run's row lives on its company's shard with
-- its decisions.  ar.reconcile_company(K) records one row (also without a
-- new line); ar.reconcile() one row per company it looked at new lines of,
-- the rows of one call sharing its run id (none without a new line):
-- src/reconcile.c, doc/ledger.md "Reconciliation runs".
--
-- Written as 72_reconcile.sql creates the table (0.1.0's shape) and applied
-- as it stands to an upgraded database
-- (src/upgrade/0.1.0--0.2.0/98_zzz_reconcile_run_company.sql is this file).
-- There a 0.1.0 run over every company (company_id NULL) becomes one row
-- per company it decided lines for, with the same id, who, when and
-- auto_apply: its lines and outcomes counted from its decisions and
-- proposals as they stand (a decision a person took since no longer names
-- the run; deferred lines are not known: NULL), its phases shared out by
-- the companies' lines, as a run of 0.2.0 records them.  A run over every
-- company that nothing names (no new line) is dropped: ar.reconcile()
-- records none in 0.2.0.  A run of ar.reconcile_company keeps its row.
-- (A fresh install has no run: the statements below change no row.)
-- ---------------------------------------------------------------------------
ALTER TABLE ar.match_proposal DROP CONSTRAINT match_proposal_run_id_fkey;
ALTER TABLE ar.reconcile_run DROP CONSTRAINT reconcile_run_pkey;

WITH named AS (
	SELECT l.run_id, l.company_id, l.bank_transaction_id, l.outcome FROM ar.reconcile_line l WHERE l.run_id IS NOT NULL
	UNION
	SELECT p.run_id, p.company_id, p.bank_transaction_id, NULL FROM ar.match_proposal p
	 WHERE p.run_id IS NOT NULL
	   AND NOT EXISTS (SELECT FROM ar.reconcile_line l
	                    WHERE l.run_id = p.run_id AND l.bank_transaction_id = p.bank_transaction_id)),
per_company AS (
	SELECT n.run_id, n.company_id, count(DISTINCT n.bank_transaction_id) AS lines,
	       count(*) FILTER (WHERE n.outcome = 'applied') AS applied,
	       count(*) FILTER (WHERE n.outcome = 'proposed') AS proposed,
	       count(*) FILTER (WHERE n.outcome = 'unmatched') AS unmatched,
	       count(*) FILTER (WHERE n.outcome = 'ignored') AS ignored,
	       count(*) FILTER (WHERE n.outcome = 'return') AS returns
	  FROM named n GROUP BY n.run_id, n.company_id)
INSERT INTO ar.reconcile_run (id, company_id, auto_apply, run_by, started_at, finished_at, lines, applied, proposed,
                              unmatched, ignored, returns, deferred, load_ms, match_ms, write_ms)
SELECT r.id, c.company_id, r.auto_apply, r.run_by, r.started_at, r.finished_at, c.lines, c.applied, c.proposed,
       c.unmatched, c.ignored, c.returns, NULL,
       r.load_ms * c.lines / sum(c.lines) OVER w, r.match_ms * c.lines / sum(c.lines) OVER w,
       r.write_ms * c.lines / sum(c.lines) OVER w
  FROM ar.reconcile_run r JOIN per_company c ON c.run_id = r.id
 WHERE r.company_id IS NULL
WINDOW w AS (PARTITION BY r.id)
 ORDER BY r.id, c.company_id;
DELETE FROM ar.reconcile_run r WHERE r.company_id IS NULL;

ALTER TABLE ar.reconcile_run ALTER COLUMN company_id SET NOT NULL,
                             ADD CONSTRAINT reconcile_run_pkey PRIMARY KEY (id, company_id);
ALTER TABLE ar.match_proposal ADD CONSTRAINT match_proposal_run_id_fkey
	FOREIGN KEY (run_id, company_id) REFERENCES ar.reconcile_run (id, company_id);

COMMENT ON TABLE ar.reconcile_run IS
'What a run of ar.reconcile did, one row per company: ar.reconcile_company(K) records one row (also when there is no new line); ar.reconcile() one row per company it looked at new lines of, all with the run id of the call (none when there is no new line). A run is the rows of its id: sum them for the whole call (doc/ledger.md, "Reconciliation runs").';
COMMENT ON COLUMN ar.reconcile_run.id IS 'Run id, quoted in the notes of the allocations it made; shared by the rows of one call.';
COMMENT ON COLUMN ar.reconcile_run.company_id IS 'Company this row is about: the run''s decisions of this company name the pair (run id, company).';
COMMENT ON COLUMN ar.reconcile_run.load_ms IS 'Milliseconds spent loading lines, invoices, customers (a run over several companies: its time shared out by their lines).';
COMMENT ON COLUMN ar.reconcile_run.match_ms IS 'Milliseconds spent matching, in C (shared out likewise).';
COMMENT ON COLUMN ar.reconcile_run.write_ms IS 'Milliseconds spent writing (ledger triggers included, commit excluded; shared out likewise).';
