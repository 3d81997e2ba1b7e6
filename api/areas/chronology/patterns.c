/*
 * patterns.c - the rules that read a consolidated chronology for patterns
 * across agencies.  Each rule is one function in the table at the bottom and
 * is unit-tested on its own, including the cases that just miss.
 *
 *   missing_episodes_cluster   three or more missing episodes within 30 days
 *   out_of_education           not on roll / missing education for more than 20 school days: a
 *                              not-on-roll entry (one without an end lasts until the child is back
 *                              in education or the chronology's period ends), an open or unresolved
 *                              CME case (likewise), or the register's status today
 *   exploitation_indicators    within 30 days, entries from two or more agencies that combine
 *                              a missing episode with an arrest, alleged offence, injury or
 *                              being a victim of crime
 *   rising_frequency           entries rising month on month for three months
 */
#include <stdio.h>
#include <string.h>
#include "patterns.h"
#include "validate.h"

#define WINDOW_DAYS 30
#define SCHOOL_DAYS_LIMIT 20

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's method). */
static int days_from_civil(int y, int m, int d)
{
	int era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int days_from_date(const char *s)
{
	if (!s || !validate_date(s))
		return -1;
	return days_from_civil((s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0'),
			       (s[5] - '0') * 10 + (s[6] - '0'), (s[8] - '0') * 10 + (s[9] - '0'));
}

void date_from_days(int z, char out[11])
{
	int era, doe, yoe, y, doy, mp, d, m;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp + (mp < 10 ? 3 : -9);
	y += m <= 2;
	if (y < 0 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31) {
		strcpy(out, "0000-01-01");
		return;
	}
	out[0] = (char)('0' + y / 1000);
	out[1] = (char)('0' + y / 100 % 10);
	out[2] = (char)('0' + y / 10 % 10);
	out[3] = (char)('0' + y % 10);
	out[4] = '-';
	out[5] = (char)('0' + m / 10);
	out[6] = (char)('0' + m % 10);
	out[7] = '-';
	out[8] = (char)('0' + d / 10);
	out[9] = (char)('0' + d % 10);
	out[10] = '\0';
}

/* 1970-01-01 was a Thursday: weekday 0 = Monday. */
static int weekday(int day)
{
	return ((day % 7) + 7 + 3) % 7;
}

int school_days(int from, int to)
{
	int n = 0;

	if (to < from)
		return 0;
	/* whole weeks, then the rest day by day */
	n = (to - from + 1) / 7 * 5;
	for (int d = from + (to - from + 1) / 7 * 7; d <= to; d++)
		if (weekday(d) < 5)
			n++;
	return n;
}

static bool is(const char *category, const char *const *set)
{
	for (; *set; set++)
		if (strcmp(category, *set) == 0)
			return true;
	return false;
}

static const char *const missing_set[] = {"missing_episode", NULL};
static const char *const indicator_set[] = {"arrest", "alleged_offence", "injury", "victim_of_crime", NULL};
static const char *const out_of_school_set[] = {"not_on_roll", NULL};

/* Fills a pattern from items[idx[0..k)]. */
static void emit(struct pattern *p, const char *code, const char *description, const struct pattern_input *in,
		 const size_t *idx, size_t k, struct arena *a)
{
	memset(p, 0, sizeof *p);
	p->code = code;
	p->description = description;
	p->entry_ids = arena_alloc(a, (k ? k : 1) * sizeof *p->entry_ids);
	p->from = in->items[idx[0]].day;
	p->to = in->items[idx[0]].day;
	for (size_t i = 0; i < k; i++) {
		const struct chron_item *it = &in->items[idx[i]];
		int end = it->day_end > it->day ? it->day_end : it->day;

		p->entry_ids[i] = it->id;
		p->agencies |= AGENCY_BIT(it->agency);
		if (it->day < p->from)
			p->from = it->day;
		if (end > p->to)
			p->to = end;
	}
	p->n_entries = k;
}

size_t pattern_missing_cluster(const struct pattern_input *in, struct pattern *out, size_t cap, struct arena *a)
{
	size_t *idx = arena_alloc(a, (in->n + 1) * sizeof *idx), m = 0, found = 0;

	for (size_t i = 0; i < in->n; i++)
		if (is(in->items[i].category, missing_set))
			idx[m++] = i;
	for (size_t i = 0; i < m && found < cap;) {
		size_t k = i;

		while (k + 1 < m && in->items[idx[k + 1]].day - in->items[idx[i]].day <= WINDOW_DAYS)
			k++;
		if (k - i + 1 >= 3) {
			emit(&out[found++], "missing_episodes_cluster", "three or more missing episodes within 30 days",
			     in, idx + i, k - i + 1, a);
			i = k + 1;
		} else {
			i++;
		}
	}
	return found;
}

/* The last day out of education of a period that started on day and has
 * no end: the day before the first return to education after it (a CME
 * case resolved), else the end of the chronology's period. */
static int open_end(const struct pattern_input *in, int day)
{
	int end = in->period_end > 0 ? in->period_end : in->today;

	for (size_t i = 0; i < in->ncme; i++)
		if (in->cme[i].back_on > day && in->cme[i].back_on - 1 < end)
			end = in->cme[i].back_on - 1;
	return end;
}

static void emit_child(struct pattern *p, const char *description, const char *child_id, int from, int to,
		       struct arena *a)
{
	memset(p, 0, sizeof *p);
	p->code = "out_of_education";
	p->description = description;
	p->from = from;
	p->to = to;
	p->entry_ids = arena_alloc(a, sizeof *p->entry_ids);
	p->child_id = child_id;
}

size_t pattern_out_of_education(const struct pattern_input *in, struct pattern *out, size_t cap, struct arena *a)
{
	size_t found = 0;

	for (size_t i = 0; i < in->n && found < cap; i++) {
		const struct chron_item *it = &in->items[i];
		int end = it->day_end < 0 ? open_end(in, it->day) : (it->day_end > it->day ? it->day_end : it->day);

		if (!is(it->category, out_of_school_set) || school_days(it->day, end) <= SCHOOL_DAYS_LIMIT)
			continue;
		emit(&out[found], "out_of_education", "out of education for more than 20 school days", in, &i, 1, a);
		out[found++].to = end;
	}
	for (size_t i = 0; i < in->ncme && found < cap; i++) {
		const struct cme_period *c = &in->cme[i];
		int end = c->back_on >= 0 ? c->back_on - 1 : open_end(in, c->since);

		if (c->since < 0 || school_days(c->since, end) <= SCHOOL_DAYS_LIMIT)
			continue;
		emit_child(&out[found++],
			   "a children missing education case shows the child out of education for more "
			   "than 20 school days",
			   c->child_id, c->since, end, a);
	}
	for (size_t i = 0; i < in->nrolls && found < cap; i++) {
		const struct roll_status *rs = &in->rolls[i];
		bool open_case = false;

		/* an open case set the register: the case's pattern says it already */
		for (size_t k = 0; k < in->ncme && !open_case; k++)
			open_case = in->cme[k].back_on < 0 && rs->child_id && in->cme[k].child_id &&
				    strcmp(in->cme[k].child_id, rs->child_id) == 0;
		if (open_case || rs->since < 0 || school_days(rs->since, in->today) <= SCHOOL_DAYS_LIMIT)
			continue;
		emit_child(&out[found++], "the register shows the child out of education for more than 20 school days",
			   rs->child_id, rs->since, in->today, a);
	}
	return found;
}

size_t pattern_exploitation(const struct pattern_input *in, struct pattern *out, size_t cap, struct arena *a)
{
	size_t *idx = arena_alloc(a, (in->n + 1) * sizeof *idx), found = 0;

	for (size_t i = 0; i < in->n && found < cap;) {
		const struct chron_item *first = &in->items[i];
		size_t k = 0, last = i;
		bool missing = false, indicator = false;
		unsigned agencies = 0;

		if (!is(first->category, missing_set) && !is(first->category, indicator_set)) {
			i++;
			continue;
		}
		for (size_t j = i; j < in->n && in->items[j].day - first->day <= WINDOW_DAYS; j++) {
			const struct chron_item *it = &in->items[j];
			bool m = is(it->category, missing_set), x = is(it->category, indicator_set);

			if (!m && !x)
				continue;
			missing |= m;
			indicator |= x;
			agencies |= AGENCY_BIT(it->agency);
			idx[k++] = j;
			last = j;
		}
		if (missing && indicator && __builtin_popcount(agencies) >= 2) {
			emit(&out[found++], "exploitation_indicators",
			     "within 30 days, entries from two or more agencies combine a missing episode with an "
			     "arrest, "
			     "alleged offence, injury or crime against the child",
			     in, idx, k, a);
			i = last + 1;
		} else {
			i++;
		}
	}
	return found;
}

static int month_of(int day)
{
	char d[11];

	date_from_days(day, d);
	return ((d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 + (d[3] - '0')) * 12 + (d[5] - '0') * 10 +
	       (d[6] - '0') - 1;
}

size_t pattern_rising(const struct pattern_input *in, struct pattern *out, size_t cap, struct arena *a)
{
	size_t found = 0, *idx;
	int first, last, span, *count;

	if (in->n == 0)
		return 0;
	first = month_of(in->items[0].day);
	last = month_of(in->items[in->n - 1].day);
	span = last - first + 1;
	count = arena_alloc(a, (size_t)span * sizeof *count);
	idx = arena_alloc(a, in->n * sizeof *idx);
	for (size_t i = 0; i < in->n; i++)
		count[month_of(in->items[i].day) - first]++;
	for (int m = 0; m + 2 < span && found < cap;) {
		if (count[m] >= 1 && count[m] < count[m + 1] && count[m + 1] < count[m + 2]) {
			size_t k = 0;

			for (size_t i = 0; i < in->n; i++) {
				int mm = month_of(in->items[i].day) - first;

				if (mm >= m && mm <= m + 2)
					idx[k++] = i;
			}
			emit(&out[found++], "rising_frequency", "entries rising month on month for three months", in,
			     idx, k, a);
			m += 3;
		} else {
			m++;
		}
	}
	return found;
}

static const struct {
	size_t (*find)(const struct pattern_input *, struct pattern *, size_t, struct arena *);
} pattern_rules[] = {
	{pattern_missing_cluster},
	{pattern_out_of_education},
	{pattern_exploitation},
	{pattern_rising},
};

size_t patterns_find(const struct pattern_input *in, struct pattern *out, size_t cap, struct arena *a)
{
	size_t n = 0;

	for (size_t r = 0; r < sizeof pattern_rules / sizeof pattern_rules[0] && n < cap; r++)
		n += pattern_rules[r].find(in, out + n, cap - n, a);
	return n;
}
