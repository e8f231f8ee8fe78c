/*
 * identifier.h
 *		Validated payment identifiers: ar.iban (ISO 13616) and
 *		ar.creditor_ref (ISO 11649).
 *
 * Both types store the compact, upper-case text of the identifier in a
 * plain varlena, so they share one set of output, comparison and hash
 * functions (identifier.c).  The *_parse helpers never throw: future
 * bank-statement parsers can call them on untrusted text and decide what
 * to do with a bad value.
 */
#ifndef AR_IDENTIFIER_H
#define AR_IDENTIFIER_H

#include "lib/stringinfo.h"

/* ISO 13616: an IBAN has at most 34 characters. */
#define IBAN_MAX_LEN		34
/* ISO 11649: "RF" + 2 check digits + 1..21 characters. */
#define CREDITOR_REF_MAX_LEN		25
#define CREDITOR_REF_PAYLOAD_MAX	21

/*
 * Copies "in" into "out" without the separators ' ', '-' and '.', upper
 * case.  At most "maxlen" characters are copied (then a NUL), but all the
 * input is scanned: the return value is the full compact length, which the
 * caller compares with maxlen.  Returns -1 when a character is neither a
 * letter, a digit nor a separator, and sets *why.
 */
extern int	ident_normalise(const char *in, char *out, int maxlen,
							const char **why);

/* ISO 7064 mod 97-10 of an upper-case alphanumeric string, A=10 .. Z=35. */
extern int	ident_mod97(int remainder, const char *s, int len);

/*
 * Checks the two check digits at s[2..3] of an IBAN or creditor reference
 * of "len" compact characters: digits, in 02..98, and the rearranged string
 * (s[4..] followed by s[0..3]) is 1 mod 97.
 */
extern bool ident_check_digits_ok(const char *s, int len, const char **why);

/* Formats a reason into a static buffer, valid until the next call. */
extern const char *ident_why(const char *fmt,...) pg_attribute_printf(1, 2);

/* The raw input as shown in error messages: clipped when very long. */
extern const char *ident_display(const char *raw);

/* Builds a datum of either type from "len" compact characters. */
extern struct varlena *ident_make(const char *s, int len);

/* A non-throwing parser: see iban_parse below. */
typedef bool (*ident_parser) (const char *in, char *out, const char **why);

/* Longest compact identifier of either type. */
#define IDENT_MAX_LEN		IBAN_MAX_LEN

/*
 * Text and binary input of either type: the value as "parse" accepts it,
 * else a 22P02 error "invalid <what>: "<raw>"" with the parser's reason.
 * Binary input is the text form, validated exactly like text input.
 */
extern Datum ident_input(const char *raw, ident_parser parse, const char *what);
extern Datum ident_recv(StringInfo buf, ident_parser parse, const char *what);

/*
 * Non-throwing parsers.  On success "out" holds the NUL-terminated compact
 * form and true is returned; otherwise *why says what is wrong (a static
 * string, valid until the next call).
 */
extern bool iban_parse(const char *in, char *out /* >= 35 bytes */ ,
					   const char **why);
extern bool creditor_ref_parse(const char *in, char *out /* >= 26 bytes */ ,
							   const char **why);
/* Builds "RFkk" + payload; the payload is normalised like input. */
extern bool creditor_ref_make(const char *payload,
							  char *out /* >= 26 bytes */ ,
							  const char **why);

#endif							/* AR_IDENTIFIER_H */
