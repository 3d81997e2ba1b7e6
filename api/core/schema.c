/*
 * schema.c - the migrations this build was made with against the ones the
 * database has applied (see schema.h).  Plain libpq on the caller's
 * connection; the list of built migrations comes from migrations.h, which
 * the Makefile generates from db/migrations/ into the build folder.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "migrations.h"
#include "schema.h"

#define SCHEMA_ROW(v, f, s) {(v), (f), (s)},
const struct schema_migration schema_built[] = {SCHEMA_BUILT_MIGRATIONS(SCHEMA_ROW)};
const size_t schema_built_count = sizeof schema_built / sizeof schema_built[0];
#undef SCHEMA_ROW

__attribute__((format(printf, 3, 4))) static bool refuse(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return false;
}

static const struct schema_migration *find(const struct schema_migration *list, size_t n, int version)
{
	for (size_t i = 0; i < n; i++)
		if (list[i].version == version)
			return &list[i];
	return NULL;
}

bool schema_compare(const struct schema_migration *built, size_t nbuilt, const struct schema_migration *applied,
		    size_t napplied, char *why, size_t whylen)
{
	if (why && whylen)
		why[0] = '\0';
	/* what the database did first: a difference there is a refusal */
	for (size_t i = 0; i < napplied; i++) {
		const struct schema_migration *a = &applied[i], *b = find(built, nbuilt, a->version);

		if (!b)
			return refuse(why, whylen, "database has migration %d (%s) that this build does not know",
				      a->version, a->file ? a->file : "?");
		if (!a->file || strcmp(a->file, b->file) != 0)
			return refuse(why, whylen, "migration %d is %s in the database but %s in this build",
				      a->version, a->file ? a->file : "?", b->file);
		if (!a->sha256)
			return refuse(
				why, whylen,
				"migration %s has no recorded checksum: the database was migrated before checksums "
				"were kept (run the migrations)",
				b->file);
		if (strcmp(a->sha256, b->sha256) != 0)
			return refuse(why, whylen, "migration %s differs from the one this build was made with",
				      b->file);
	}
	/* then what is still to do */
	for (size_t i = 0; i < nbuilt; i++)
		if (!find(applied, napplied, built[i].version))
			return refuse(why, whylen, "migration %s is not applied", built[i].file);
	return true;
}

bool schema_check(PGconn *conn, char *why, size_t whylen)
{
	/* to_jsonb: a database from before the checksum column reads as NULL
	 * checksums (a clear message) rather than an undefined-column error */
	static const char sql[] = "select version, name, to_jsonb(m) ->> 'checksum'"
				  " from safeguard.schema_migrations m order by version";
	struct schema_migration *rows;
	char **files;
	PGresult *res;
	bool ok;
	int n;

	if (!conn || PQstatus(conn) != CONNECTION_OK)
		return refuse(why, whylen, "the database cannot be reached");
	res = PQexecParams(conn, sql, 0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

		PQclear(res);
		return refuse(why, whylen, "cannot read safeguard.schema_migrations (SQLSTATE %s)",
			      state ? state : "unknown");
	}
	n = PQntuples(res);
	rows = calloc(n ? (size_t)n : 1, sizeof *rows);
	files = calloc(n ? (size_t)n : 1, sizeof *files);
	ok = rows && files;
	for (int i = 0; ok && i < n; i++) {
		const char *name = PQgetvalue(res, i, 1);
		size_t len = strlen(name) + sizeof ".sql";
		long v = strtol(PQgetvalue(res, i, 0), NULL, 10);

		files[i] = malloc(len);
		if (!files[i]) {
			ok = false;
			break;
		}
		snprintf(files[i], len, "%s.sql", name);
		rows[i].version = (int)v;
		rows[i].file = files[i];
		rows[i].sha256 = PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2);
	}
	if (ok)
		ok = schema_compare(schema_built, schema_built_count, rows, (size_t)n, why, whylen);
	else
		refuse(why, whylen, "out of memory reading safeguard.schema_migrations");
	for (int i = 0; files && i < n; i++)
		free(files[i]);
	free(files);
	free(rows);
	PQclear(res);
	return ok;
}
