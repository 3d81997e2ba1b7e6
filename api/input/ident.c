/*
 * ident.c - the identifiers of a child and the formats around them: NHS
 * number (10 digits, modulus 11 check digit), Unique Pupil Number (13
 * characters, DfE check letter), UK postcode, and fresh UUIDs.  Each check
 * returns NULL when the value is valid, or the message for the client.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>
#include "ident.h"

const char *ident_nhs_number(const char *s)
{
	int sum = 0, check;

	if (strlen(s) != 10)
		return "must be 10 digits";
	for (int i = 0; i < 10; i++)
		if (!isdigit((unsigned char)s[i]))
			return "must be 10 digits";
	for (int i = 0; i < 9; i++)
		sum += (s[i] - '0') * (10 - i);
	check = 11 - sum % 11;
	if (check == 11)
		check = 0;
	if (check == 10 || check != s[9] - '0')
		return "has an invalid check digit";
	return NULL;
}

/* The DfE's check letter alphabet: A-Z without I, O and S. */
static const char upn_letters[] = "ABCDEFGHJKLMNPQRTUVWXYZ";

const char *ident_upn(const char *s)
{
	int sum = 0;
	const char *p;

	if (strlen(s) != 13)
		return "must be 13 characters";
	if (!strchr(upn_letters, s[0]) || s[0] == '\0')
		return "must start with a check letter";
	for (int i = 1; i < 12; i++) {
		if (!isdigit((unsigned char)s[i]))
			return "must have digits in characters 2 to 12";
		sum += (s[i] - '0') * (i + 1);
	}
	/* the last character is a digit, or a letter in a temporary UPN */
	if (isdigit((unsigned char)s[12]))
		sum += (s[12] - '0') * 13;
	else if (s[12] && (p = strchr(upn_letters, s[12])))
		sum += (int)(p - upn_letters) * 13;
	else
		return "has an invalid final character";
	if (upn_letters[sum % 23] != s[0])
		return "has an invalid check letter";
	return NULL;
}

/* Normalises a UK postcode (upper case, one space before the inward code)
 * into out; NULL when valid, else the message. */
const char *ident_postcode(const char *s, char out[9])
{
	char c[16];
	size_t n = 0, out_len;

	for (; *s; s++) {
		if (*s == ' ')
			continue;
		if (n >= 7 || !isalnum((unsigned char)*s))
			return "must be a UK postcode";
		c[n++] = (char)toupper((unsigned char)*s);
	}
	c[n] = '\0';
	if (n < 5)
		return "must be a UK postcode";
	/* inward: digit letter letter */
	if (!isdigit((unsigned char)c[n - 3]) || !isalpha((unsigned char)c[n - 2]) || !isalpha((unsigned char)c[n - 1]))
		return "must be a UK postcode";
	/* outward: A9, A9A, A99, AA9, AA9A, AA99 */
	out_len = n - 3;
	if (!isalpha((unsigned char)c[0]))
		return "must be a UK postcode";
	{
		size_t i = isalpha((unsigned char)c[1]) ? 2 : 1;

		if (i >= out_len || !isdigit((unsigned char)c[i]))
			return "must be a UK postcode";
		i++;
		if (i < out_len && !isalnum((unsigned char)c[i]))
			return "must be a UK postcode";
		if (i < out_len)
			i++;
		if (i != out_len)
			return "must be a UK postcode";
	}
	snprintf(out, 9, "%.*s %s", (int)out_len, c, c + out_len);
	return NULL;
}

const char *ident_postcode_check(const char *s)
{
	char out[9];

	return ident_postcode(s, out);
}

char *ident_uuid(struct arena *a)
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof b) != 1)
		abort();
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	return arena_printf(a, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
			    b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}
