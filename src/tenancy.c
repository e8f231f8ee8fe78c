/*
 * tenancy.c
 *		Who a call acts for, for the company isolation of src/sql/95_tenancy.sql.
 *
 * Inside a SECURITY DEFINER function current_user is the function's owner,
 * and session_user is the login role, whatever SET ROLE chose since.  The
 * role a call acts for is the "outer" user: the role chosen by SET ROLE, else
 * the session user.  SECURITY DEFINER functions change the current user, never
 * the outer one; only SET ROLE does, which checks that the session user is a
 * member of the role, and which PostgreSQL refuses inside a SECURITY DEFINER
 * function.  So neither the definer functions of ar_collect nor a caller's
 * own functions can make a call act for a role the session could not become.
 *
 * ar._company_visible(company_id, access) is what the row-level security
 * policies of company data call: whether the caller acts for that company at
 * that level or above.  It is a plain function call (Citus accepts no
 * subquery in the policy of a distributed table: doc/scale_out.md), and
 * still one lookup per statement, not per row: the first call of a call
 * site in a query computes the caller's companies with ar._company_ids(),
 * kept sorted in the call site's own memory (fn_extra, which lives as long
 * as the query's executor state), and the rows of the statement are then
 * found by binary search.  The cache remembers for which role (the outer
 * user) and which level it was computed and computes again when either
 * differs, so a SET ROLE run by a function inside the statement is honoured.
 * Nothing the caller can set reaches it: ar._company_ids is found in the
 * schema of this function, by name and argument type (no search_path), and
 * pins its own search_path; fn_extra is no setting and no relation.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

PG_FUNCTION_INFO_V1(ar_caller);
Datum
ar_caller(PG_FUNCTION_ARGS)
{
	PG_RETURN_OID(GetOuterUserId());
}

/* the companies of one role at one level, sorted */
typedef struct VisibleCompanies
{
	Oid			role;
	char	   *access;
	Size		access_len;
	int			n;
	int64	   *ids;
} VisibleCompanies;

static int
int64_cmp(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

static void
load_visible(FmgrInfo *flinfo, VisibleCompanies *vc, Oid role, text *access_text)
{
	Oid			argtypes[1] = {TEXTOID};
	char	   *nsp = get_namespace_name(get_func_namespace(flinfo->fn_oid));
	Oid			company_ids;
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;
	int			k = 0;

	if (nsp == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_SCHEMA),
				 errmsg("schema of function %u not found", flinfo->fn_oid)));
	company_ids = LookupFuncName(list_make2(makeString(nsp), makeString("_company_ids")),
								 1, argtypes, false);
	arr = DatumGetArrayTypeP(OidFunctionCall1(company_ids, PointerGetDatum(access_text)));
	if (ARR_ELEMTYPE(arr) != INT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("%s._company_ids must return bigint[]", nsp)));
	deconstruct_array(arr, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, &n);

	if (vc->ids != NULL)
		pfree(vc->ids);
	vc->ids = MemoryContextAlloc(flinfo->fn_mcxt, sizeof(int64) * Max(n, 1));
	for (i = 0; i < n; i++)
		if (!nulls[i])
			vc->ids[k++] = DatumGetInt64(elems[i]);
	qsort(vc->ids, k, sizeof(int64), int64_cmp);
	vc->n = k;
	vc->role = role;
	if (vc->access != NULL)
		pfree(vc->access);
	vc->access_len = VARSIZE_ANY_EXHDR(access_text);
	vc->access = MemoryContextAlloc(flinfo->fn_mcxt, Max(vc->access_len, 1));
	memcpy(vc->access, VARDATA_ANY(access_text), vc->access_len);
}

PG_FUNCTION_INFO_V1(ar_company_visible);
Datum
ar_company_visible(PG_FUNCTION_ARGS)
{
	int64		company_id = PG_GETARG_INT64(0);
	text	   *access_text = PG_GETARG_TEXT_PP(1);
	Oid			role = GetOuterUserId();
	VisibleCompanies *vc = (VisibleCompanies *) fcinfo->flinfo->fn_extra;

	if (vc == NULL)
	{
		vc = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(VisibleCompanies));
		vc->role = InvalidOid;
		fcinfo->flinfo->fn_extra = vc;
	}
	if (vc->role != role || vc->access == NULL ||
		vc->access_len != VARSIZE_ANY_EXHDR(access_text) ||
		memcmp(vc->access, VARDATA_ANY(access_text), vc->access_len) != 0)
	{
		vc->role = InvalidOid;	/* incomplete until loaded */
		load_visible(fcinfo->flinfo, vc, role, access_text);
	}
	PG_RETURN_BOOL(vc->n > 0 &&
				   bsearch(&company_id, vc->ids, vc->n, sizeof(int64), int64_cmp) != NULL);
}
