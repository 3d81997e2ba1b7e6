/*
 * areas.c - the one list of the API's areas: the only file that names them
 * all.  An area owns its routes, field specs and statements (each file
 * defines its SQL with DB_SQL next to the code that runs it); adding an area
 * is one line here.  The order is the order of `--routes` and /metrics.
 */
#include "http.h"

extern const struct sg_area system_area, me_area, audit_area, tokens_area, children_area, families_area;
extern const struct sg_area chronology_entries_area, chronology_requests_area, chronology_consolidated_area;
extern const struct sg_area panels_area, referrals_area, meetings_area, minutes_area, records_area, actions_area,
	exports_area;
extern const struct sg_area involvements_area;
extern const struct sg_area courses_area, training_sessions_area, bookings_area, register_area, charges_area,
	certificates_area, completions_area, evaluations_area;
extern const struct sg_area cme_calendar_area, cme_cases_area;
extern const struct sg_area screening_tools_area, screenings_area, screening_report_area;
extern const struct sg_area sync_area;

const struct sg_area *const sg_areas[] = {
	&system_area,
	&me_area,
	&audit_area,
	&tokens_area,
	&children_area,
	&families_area,
	&chronology_entries_area,
	&chronology_requests_area,
	&chronology_consolidated_area,
	&panels_area,
	&referrals_area,
	&meetings_area,
	&minutes_area,
	&records_area,
	&actions_area,
	&exports_area,
	&involvements_area,
	&courses_area,
	&training_sessions_area,
	&bookings_area,
	&register_area,
	&charges_area,
	&certificates_area,
	&completions_area,
	&evaluations_area,
	&cme_calendar_area,
	&cme_cases_area,
	&screening_tools_area,
	&screenings_area,
	&screening_report_area,
	&sync_area,
	NULL,
};
