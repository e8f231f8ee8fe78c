-- Comments that cite the project's documents: the KPI definitions moved
-- from the README to doc/analytics.md.
COMMENT ON FUNCTION ar.kpis(date, integer) IS
'The receivables KPIs on as_of over the period (as_of - period_days, as_of], one row, default company in its currency, exact (not rounded): see doc/analytics.md for every definition.';
