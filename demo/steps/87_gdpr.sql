-- Legal archiving and GDPR on the demo ledger (doc/gdpr.md): who may be
-- anonymised when.  The generated books are recent, so the legal retention
-- (10 years from the end of the fiscal year of the last accounting
-- document) or open items block every customer: the report says until when.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SELECT CASE WHEN may_anonymise THEN 'may be anonymised'
            WHEN anonymise_from IS NULL THEN 'open items'
            ELSE 'under legal retention' END AS "GDPR status",
       count(*) AS customers, min(anonymise_from) AS "first anonymisable on", max(retention_until) AS "retention until (latest)"
  FROM ar.retention_report()
 GROUP BY 1 ORDER BY 1;
