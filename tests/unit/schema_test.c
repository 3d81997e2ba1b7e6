/* The schema check's pure part: what the database applied against what the
 * build was made with; and the built list itself against db/migrations/
 * (run from the repository's root, as `make unit` does). */
#include <check.h>
#include <dirent.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "schema.h"
#include "unit.h"

#define A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static const struct schema_migration built[] = {
	{1, "001_platform.sql", A},
	{2, "002_children.sql", B},
	{3, "003_chronology.sql", C},
};
#define NBUILT (sizeof built / sizeof built[0])

static char why[256];

START_TEST(same_set_passes)
{
	const struct schema_migration applied[] = {
		{1, "001_platform.sql", A},
		{2, "002_children.sql", B},
		{3, "003_chronology.sql", C},
	};

	strcpy(why, "stale");
	ck_assert(schema_compare(built, NBUILT, applied, 3, why, sizeof why));
	ck_assert_str_eq(why, "");
}
END_TEST

START_TEST(order_of_rows_does_not_matter)
{
	const struct schema_migration applied[] = {
		{3, "003_chronology.sql", C},
		{1, "001_platform.sql", A},
		{2, "002_children.sql", B},
	};

	ck_assert(schema_compare(built, NBUILT, applied, 3, why, sizeof why));
}
END_TEST

START_TEST(changed_file_is_named)
{
	const struct schema_migration applied[] = {
		{1, "001_platform.sql", A},
		{2, "002_children.sql", B},
		{3, "003_chronology.sql", A},
	};

	ck_assert(!schema_compare(built, NBUILT, applied, 3, why, sizeof why));
	ck_assert_str_eq(why, "migration 003_chronology.sql differs from the one this build was made with");
}
END_TEST

START_TEST(missing_migration_is_named)
{
	const struct schema_migration applied[] = {
		{1, "001_platform.sql", A},
		{2, "002_children.sql", B},
	};

	ck_assert(!schema_compare(built, NBUILT, applied, 2, why, sizeof why));
	ck_assert_str_eq(why, "migration 003_chronology.sql is not applied");
	ck_assert(!schema_compare(built, NBUILT, NULL, 0, why, sizeof why));
	ck_assert_str_eq(why, "migration 001_platform.sql is not applied");
}
END_TEST

START_TEST(unknown_migration_is_named)
{
	const struct schema_migration applied[] = {
		{1, "001_platform.sql", A},
		{2, "002_children.sql", B},
		{3, "003_chronology.sql", C},
		{9, "009_panels.sql", A},
	};

	ck_assert(!schema_compare(built, NBUILT, applied, 4, why, sizeof why));
	ck_assert_str_eq(why, "database has migration 9 (009_panels.sql) that this build does not know");
}
END_TEST

START_TEST(renamed_file_is_refused)
{
	const struct schema_migration applied[] = {
		{1, "001_platform.sql", A},
		{2, "002_kids.sql", B},
		{3, "003_chronology.sql", C},
	};

	ck_assert(!schema_compare(built, NBUILT, applied, 3, why, sizeof why));
	ck_assert_str_eq(why, "migration 2 is 002_kids.sql in the database but 002_children.sql in this build");
}
END_TEST

START_TEST(unrecorded_checksum_is_refused)
{
	const struct schema_migration applied[] = {
		{1, "001_platform.sql", NULL},
		{2, "002_children.sql", B},
		{3, "003_chronology.sql", C},
	};

	ck_assert(!schema_compare(built, NBUILT, applied, 3, why, sizeof why));
	ck_assert_ptr_nonnull(strstr(why, "migration 001_platform.sql has no recorded checksum"));
}
END_TEST

/* A changed applied file is the news, even when a newer one is pending. */
START_TEST(difference_before_pending)
{
	const struct schema_migration applied[] = {
		{1, "001_platform.sql", A},
		{2, "002_children.sql", C},
	};

	ck_assert(!schema_compare(built, NBUILT, applied, 2, why, sizeof why));
	ck_assert_str_eq(why, "migration 002_children.sql differs from the one this build was made with");
}
END_TEST

START_TEST(short_or_absent_buffer)
{
	const struct schema_migration applied[] = {{1, "001_platform.sql", B}};
	char small[8];

	memset(small, 'x', sizeof small);
	ck_assert(!schema_compare(built, NBUILT, applied, 1, small, sizeof small));
	ck_assert_str_eq(small, "migrati");
	ck_assert(!schema_compare(built, NBUILT, applied, 1, NULL, 0));
	ck_assert(!schema_compare(built, NBUILT, applied, 1, small, 0));
	ck_assert(schema_compare(built, NBUILT, built, NBUILT, NULL, 0));
}
END_TEST

static int is_migration(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && name[0] >= '0' && name[0] <= '9' && strcmp(name + n - 4, ".sql") == 0;
}

/* The list compiled in (the Makefile's $(BUILD)/migrations.h) is every file
 * of db/migrations/, in version order, with the sha256 of its bytes. */
START_TEST(built_list_matches_the_tree)
{
	DIR *d = opendir("db/migrations");
	struct dirent *e;
	size_t files = 0;

	ck_assert_msg(d != NULL, "run from the repository's root (db/migrations/)");
	while ((e = readdir(d)))
		files += is_migration(e->d_name);
	closedir(d);
	ck_assert_uint_eq(schema_built_count, files);
	for (size_t i = 0; i < schema_built_count; i++) {
		const struct schema_migration *m = &schema_built[i];
		char path[512], hex[2 * EVP_MAX_MD_SIZE + 1];
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int mdlen = 0;
		static char buf[1 << 20];
		size_t n;
		FILE *f;

		if (i > 0)
			ck_assert_int_lt(schema_built[i - 1].version, m->version);
		ck_assert_int_eq(m->version, atoi(m->file));
		snprintf(path, sizeof path, "db/migrations/%s", m->file);
		f = fopen(path, "rb");
		ck_assert_msg(f != NULL, "%s is in the build but not in db/migrations", m->file);
		n = fread(buf, 1, sizeof buf, f);
		ck_assert_msg(feof(f), "%s is larger than the test reads", m->file);
		fclose(f);
		ck_assert(EVP_Digest(buf, n, md, &mdlen, EVP_sha256(), NULL) == 1);
		for (unsigned int k = 0; k < mdlen; k++)
			snprintf(hex + 2 * k, 3, "%02x", md[k]);
		ck_assert_msg(strcmp(hex, m->sha256) == 0, "%s: built with %s, the file is %s now", m->file, m->sha256,
			      hex);
	}
}
END_TEST

Suite *schema_suite(void)
{
	Suite *s = suite_create("schema");
	TCase *tc = tcase_create("compare");

	tcase_add_test(tc, same_set_passes);
	tcase_add_test(tc, order_of_rows_does_not_matter);
	tcase_add_test(tc, changed_file_is_named);
	tcase_add_test(tc, missing_migration_is_named);
	tcase_add_test(tc, unknown_migration_is_named);
	tcase_add_test(tc, renamed_file_is_refused);
	tcase_add_test(tc, unrecorded_checksum_is_refused);
	tcase_add_test(tc, difference_before_pending);
	tcase_add_test(tc, short_or_absent_buffer);
	tcase_add_test(tc, built_list_matches_the_tree);
	suite_add_tcase(s, tc);
	return s;
}
