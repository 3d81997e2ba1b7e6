/*
 * schema.h - is the database migrated with exactly the files this build was
 * made with?  Migrations are forward-only: nginx/stack.sh records the sha256
 * of every file it applies in safeguard.schema_migrations, and the build
 * carries the version, file name and sha256 of every file in db/migrations/
 * (generated into $(BUILD)/migrations.h).  A file edited after it was
 * applied, a migration not applied yet, or one this build does not know is a
 * refusal naming the file, never a silent drift.
 */
#ifndef SG_SCHEMA_H
#define SG_SCHEMA_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/* One migration: as built (file name and checksum of db/migrations/), or as
 * applied (the row's name plus ".sql"; sha256 NULL when none was recorded). */
struct schema_migration {
	int version;
	const char *file;   /* "003_chronology.sql" */
	const char *sha256; /* 64 lowercase hex digits */
};

/* The migrations this build was made with, in version order. */
extern const struct schema_migration schema_built[];
extern const size_t schema_built_count;

/*
 * Compares the applied migrations (any order) with the built ones.  True
 * when they are the same set of versions with the same file names and
 * checksums.  Otherwise false, with the first problem in `why` (always
 * NUL-terminated when whylen > 0): a changed, renamed or unrecorded applied
 * file, or one the build does not know, before a migration not yet applied.
 * Pure: no database, no allocation.
 */
bool schema_compare(const struct schema_migration *built, size_t nbuilt, const struct schema_migration *applied,
		    size_t napplied, char *why, size_t whylen);

/*
 * Reads safeguard.schema_migrations (version, name, checksum) on `conn` with
 * one read-only statement and compares it with schema_built.  False, with
 * the reason in `why`, also when the table cannot be read (the message then
 * carries the SQLSTATE, never server text).  Call it outside a transaction,
 * or in one that may fail: an error aborts the transaction it runs in.
 */
bool schema_check(PGconn *conn, char *why, size_t whylen);

#endif
