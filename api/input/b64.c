/*
 * b64.c - base64url (RFC 4648 section 5) without padding, strict: any
 * character outside the alphabet is an error, and so are non-zero trailing
 * bits, so every byte string has exactly one accepted encoding.
 */
#include <string.h>
#include "b64.h"

static const char b64url_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

bool b64url_chars_only(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b64url_value((unsigned char)s[i]) < 0)
			return false;
	return true;
}

long b64url_decode(const char *in, size_t n, unsigned char *out, size_t cap)
{
	size_t o = 0;
	unsigned long acc = 0;
	int bits = 0;

	if (n % 4 == 1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int v = b64url_value((unsigned char)in[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= cap)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1ul << bits) - 1;
		}
	}
	if (acc != 0) /* non-canonical trailing bits */
		return -1;
	return (long)o;
}

size_t b64url_encode(const unsigned char *in, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	unsigned long acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			if (o + 1 < cap)
				out[o++] = b64url_alphabet[(acc >> bits) & 63];
		}
		acc &= (1ul << bits) - 1;
	}
	if (bits > 0 && o + 1 < cap)
		out[o++] = b64url_alphabet[(acc << (6 - bits)) & 63];
	if (cap)
		out[o < cap ? o : cap - 1] = '\0';
	return o;
}
