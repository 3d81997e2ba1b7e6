/*
 * log.c - one JSON object per line on stderr.  Callers pass key/value pairs
 * as a format of single letters: 's' a string, 'i' an int, 'l' a long long,
 * 'd' a double.  Only ids, routes, codes and timings are logged: never names,
 * dates of birth or narrative text.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include "log.h"

void log_msg(const char *level, const char *msg, const char *fmt_kv, ...)
{
	json_t *o = json_object();
	struct timespec ts;
	struct tm tm;
	char when[64];
	char *line;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(ts.tv_nsec / 1000000) % 1000);
	json_object_set_new(o, "ts", json_string(when));
	json_object_set_new(o, "level", json_string(level));
	json_object_set_new(o, "pid", json_integer(getpid()));
	json_object_set_new(o, "msg", json_string(msg));
	va_start(ap, fmt_kv);
	for (const char *f = fmt_kv ? fmt_kv : ""; *f; f++) {
		const char *key = va_arg(ap, const char *);

		switch (*f) {
		case 's': {
			const char *v = va_arg(ap, const char *);

			json_object_set_new(o, key, v ? json_string(v) : json_null());
			break;
		}
		case 'i':
			json_object_set_new(o, key, json_integer(va_arg(ap, int)));
			break;
		case 'l':
			json_object_set_new(o, key, json_integer(va_arg(ap, long long)));
			break;
		case 'd':
			json_object_set_new(o, key, json_real(va_arg(ap, double)));
			break;
		default:
			abort(); /* programmer error */
		}
	}
	va_end(ap);
	line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (line) {
		fprintf(stderr, "%s\n", line);
		free(line);
	}
	json_decref(o);
}
