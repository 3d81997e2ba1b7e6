/*
 * b64.h - base64url without padding.
 */
#ifndef SG_B64_H
#define SG_B64_H

#include <stdbool.h>
#include <stddef.h>

/* base64url without padding; returns bytes written or -1 on a bad character */
long b64url_decode(const char *in, size_t n, unsigned char *out, size_t cap);
size_t b64url_encode(const unsigned char *in, size_t n, char *out, size_t cap);
bool b64url_chars_only(const char *s, size_t n);

#endif
