-- GDPR in an upgraded database (88_gdpr_2.sql): (90_roles.sql) nothing
-- executable by PUBLIC but the immutable helpers; tenancy: 96_company_rls.sql.
REVOKE ALL ON FUNCTION ar._gdpr_status(bigint, date), ar._gdpr_redacting(regclass), ar._gdpr_columns(),
                       ar._colocated_here(regclass, regclass), ar._xid_is_current(xid),
                       ar._gdpr_redacted_row_hash(regclass, jsonb, jsonb),
                       ar._gdpr_redact_image(text, jsonb, bigint, bigint[], bigint[], text, text[]),
                       ar._gdpr_live_values(bigint, bigint[], bigint[]), ar._gdpr_manifest(bigint),
                       ar.anonymise_customer(bigint, text), ar.retention_report(date),
                       ar._audit_redaction_guard(), ar._gdpr_anonymisation_guard()
	FROM PUBLIC;
