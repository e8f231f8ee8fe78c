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
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

PG_FUNCTION_INFO_V1(ar_caller);
Datum
ar_caller(PG_FUNCTION_ARGS)
{
	PG_RETURN_OID(GetOuterUserId());
}
