/* Request bodies: strict JSON parsing, then field validation of every type,
 * with the identifier checks (NHS number, UPN, postcode) on the strings. */
#include "common.h"

static const char *const colours[] = {"red", "green", NULL};
static void cross(json_t *b, struct verrs *e, struct arena *a)
{
	const char *s = json_string_value(json_object_get(b, "s"));
	char pc[9];

	if (s) {
		ident_nhs_number(s);
		ident_upn(s);
		if (!ident_postcode(s, pc) && strlen(pc) > 8)
			abort();
		if (validate_date(s) || validate_instant(s) || validate_pg_timestamp(s)) {
			int64_t t;

			instant_to_epoch(s, &t);
		}
	}
	(void)e;
	(void)a;
}
static const struct field_spec fields[] = {
	{.name = "s", .type = FT_STRING, .min = 1, .max = 100},
	{.name = "i", .type = FT_INT, .min = -5, .max = 5},
	{.name = "b", .type = FT_BOOL},
	{.name = "d", .type = FT_DATE, .nullable = true},
	{.name = "t", .type = FT_INSTANT},
	{.name = "u", .type = FT_UUID, .required = true},
	{.name = "e", .type = FT_ENUM, .enum_values = colours},
	{.name = "l", .type = FT_STRING_ARRAY, .max = 4, .enum_values = colours},
	{.name = "o", .type = FT_OBJECT},
	{.name = "a", .type = FT_ARRAY},
	{.name = "n", .type = FT_STRING, .check = ident_nhs_number},
};
static const char *const ro[] = {"id", NULL};
static const struct body_spec spec = {
	.fields = fields, .n = sizeof fields / sizeof fields[0], .read_only = ro, .check = cross};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = fuzz_arena();
	const struct json_limits lim = {.max_depth = 32, .max_chars = 2 * VALIDATE_MAX_CHARS};
	const char *why = NULL;
	struct verrs errs = {0};
	json_t *j = jsonx_parse((const char *)data, size, &lim, &why);

	if (!j) {
		if (!why)
			abort();
		return 0;
	}
	validate_body(&spec, j, &errs, a);
	validate_patch(&spec, j, &errs, a);
	json_decref(j);
	return 0;
}
