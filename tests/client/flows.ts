// flows.ts - the README's walkthroughs as a third-party team would write
// them: a typed client generated from openapi/openapi.yaml (openapi-typescript
// writes generated/api.d.ts) driven through openapi-fetch.  It is only
// type-checked (tsc --strict, tests/run.sh), never run: a change to the
// contract that would break such a client (a renamed field, a list whose
// items lose their type, a body a generator can no longer read) fails the
// build here.  Every value the walkthrough reads is read as a client would,
// without casts.
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/api";

type Schemas = components["schemas"];
type Client = ReturnType<typeof createClient<paths>>;

/** A problem+json answer, thrown with what a person needs to fix the call. */
export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Schemas["Problem"] | undefined,
  ) {
    const fields = (problem?.errors ?? []).map((e: Schemas["FieldError"]) => `${e.field}: ${e.code}`);
    super(`${status} ${problem?.type ?? "(no problem body)"} ${problem?.detail ?? ""} ${fields.join(", ")}`);
  }
}

/** The body of a successful answer, or the problem thrown. */
function ok<T>(r: { data?: T; error?: unknown; response: Response }): T {
  if (r.data === undefined) throw new ProblemError(r.response.status, r.error as Schemas["Problem"] | undefined);
  return r.data;
}

/** The ETag a later If-Match needs. */
function etagOf(r: { response: Response }): string {
  const tag = r.response.headers.get("ETag");
  if (!tag) throw new Error("the answer has no ETag");
  return tag;
}

export function api(baseUrl: string, token: string): Client {
  return createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });
}

export interface Tokens {
  police: string; // police practitioner
  health: string; // health practitioner
  socialWorker: string; // CSC social worker
  chair: string; // police panel chair
  youthJustice: string; // youth justice panel member
}

/** README "Calling the API": a child created, found, declared, grouped, updated. */
export async function register(baseUrl: string, t: Tokens): Promise<Schemas["Child"]> {
  const police = api(baseUrl, t.police);
  const health = api(baseUrl, t.health);
  const sw = api(baseUrl, t.socialWorker);

  const me: Schemas["Me"] = ok(await police.GET("/v1/me"));
  const agency: Schemas["AgencyCode"] = me.agency;

  const created = await police.POST("/v1/children", {
    params: { header: { "Idempotency-Key": "create-ellie-1" } },
    body: {
      first_name: "Ellie",
      last_name: "Hart",
      date_of_birth: "2013-06-01",
      nhs_number: "9434765919",
      postcode: "OX1 2JD",
      education_status: "on_roll",
    },
  });
  const child: Schemas["Child"] = ok(created);

  // a list's items are typed: no casts to read a child's fields
  const page = ok(await police.GET("/v1/children", { params: { query: { limit: 50, education_status: "on_roll" } } }));
  const names: string[] = page.items.map((c) => `${c.first_name} ${c.last_name}`);
  const next: string | null = page.next_cursor;
  if (next) ok(await police.GET("/v1/children", { params: { query: { cursor: next } } }));

  // search by exactly one identifier; a match outside the network is a reference
  const found = ok(await health.POST("/v1/children/search", { body: { nhs_number: "9434765919" } }));
  for (const hit of found.items) {
    if ("in_network" in hit && !hit.in_network) {
      const involvement: Schemas["Involvement"] = ok(
        await health.POST("/v1/children/{id}/involvements", {
          params: { path: { id: hit.id } },
          body: { reason: "registered with the practice" },
        }),
      );
      console.log(involvement.agency, involvement.how, involvement.joined_at);
    }
  }
  ok(await health.POST("/v1/children/search", { body: { first_name: "Ellie", last_name: "Hart", date_of_birth: "2013-06-01" } }));

  const network = ok(await police.GET("/v1/children/{id}/network", { params: { path: { id: child.id } } }));
  const agencies: Schemas["AgencyCode"][] = network.items.map((m) => m.agency);

  // a family of siblings, then a member
  const family: Schemas["Family"] = ok(
    await sw.POST("/v1/families", {
      params: { header: { "Idempotency-Key": "family-hart-1" } },
      body: { name: "Hart family", carers: [{ name: "Jo Hart", relationship: "mother" }] },
    }),
  );
  const withMember: Schemas["Family"] = ok(
    await sw.POST("/v1/families/{id}/members", {
      params: { path: { id: family.id } },
      body: { child_id: child.id, relationship: "sibling" },
    }),
  );
  const dates: string[] = withMember.members.map((m) => m.date_of_birth);

  // an update needs the ETag read (If-Match)
  const read = await police.GET("/v1/children/{id}", { params: { path: { id: child.id } } });
  // a change queued offline: the same key, If-Match and body on every attempt
  const updated = await police.PATCH("/v1/children/{id}", {
    params: { path: { id: child.id }, header: { "If-Match": etagOf(read), "Idempotency-Key": "update-ellie-1" } },
    body: { preferred_name: "Ellie-May", not_on_roll_since: null },
  });
  console.log(agency, names, agencies, dates);
  return ok(updated);
}

/** README "A multi-agency chronology, from request to consolidated timeline". */
export async function chronology(baseUrl: string, t: Tokens, familyId: string, childId: string): Promise<string> {
  const police = api(baseUrl, t.police);
  const health = api(baseUrl, t.health);
  const sw = api(baseUrl, t.socialWorker);

  const entry: Schemas["Entry"] = ok(
    await police.POST("/v1/chronology-entries", {
      body: {
        child_ids: [childId],
        event_date: "2026-10-03",
        event_time: "22:40",
        date_precision: "day",
        category: "missing_episode",
        summary: "Reported missing from home overnight",
        impact: "negative",
        significance: "high",
        action_taken: "Found next morning; return interview arranged",
        source: "mother",
      },
    }),
  );

  // exactly one of child_id and family_id
  const request: Schemas["ChronologyRequest"] = ok(
    await sw.POST("/v1/chronology-requests", {
      body: {
        family_id: familyId,
        agencies: ["police", "health"],
        purpose: "strategy discussion",
        lawful_basis: "children_act_1989_s47",
        period_from: "2025-01-01",
        period_to: "2026-12-31",
        respond_by: "2026-12-31",
        share_until: "2027-01-31T00:00:00Z",
      },
    }),
  );
  const pending = request.agencies.filter((a) => a.status === "pending").map((a) => a.agency);

  const draft = ok(await police.GET("/v1/chronology-requests/{id}/draft", { params: { path: { id: request.id } } }));
  const toShare: string[] = draft.items.filter((d) => !d.shared).map((d) => d.entry.id);
  ok(
    await police.POST("/v1/chronology-requests/{id}/contributions", {
      params: { path: { id: request.id } },
      body: { entry_ids: toShare.length ? toShare : [entry.id] },
    }),
  );
  ok(
    await health.POST("/v1/chronology-requests/{id}/contributions", {
      params: { path: { id: request.id } },
      body: { no_involvement: true },
    }),
  );

  // the consolidated timeline: the JSON is typed, the CSV is text
  const timeline: Schemas["ConsolidatedChronology"] = ok(
    await sw.GET("/v1/chronology-requests/{id}/chronology", { params: { path: { id: request.id } } }),
  );
  const lines: string[] = timeline.entries.map((e) => `${e.event_date} ${e.agency} ${e.summary}`);
  const patterns: Schemas["Pattern"]["code"][] = timeline.patterns.map((p) => p.code);
  const csv: string = ok(
    await sw.GET("/v1/chronology-requests/{id}/chronology.csv", { params: { path: { id: request.id } }, parseAs: "text" }),
  );

  const mine = ok(await sw.GET("/v1/chronology-requests", { params: { query: { limit: 10 } } }));
  const open: string[] = mine.items.filter((r) => r.status === "open").map((r) => r.id);

  const closed: Schemas["ChronologyRequest"] = ok(
    await sw.POST("/v1/chronology-requests/{id}/closure", { params: { path: { id: request.id } } }),
  );
  console.log(pending, lines, patterns, open, closed.closed_at);
  return csv;
}

/** README "A multi-agency panel, from referral to closure". */
export async function panel(baseUrl: string, t: Tokens, panelId: string, childId: string): Promise<string> {
  const sw = api(baseUrl, t.socialWorker);
  const chair = api(baseUrl, t.chair);
  const yot = api(baseUrl, t.youthJustice);

  const panels = ok(await chair.GET("/v1/panels"));
  const names: string[] = panels.items.map((p) => p.name);

  const referral: Schemas["Referral"] = ok(
    await sw.POST("/v1/panels/{id}/referrals", {
      params: { path: { id: panelId } },
      body: {
        child_id: childId,
        reason: "arrested with older peers",
        risk_level: "high",
        criteria: { offending_risk: true, safeguarding_concern: true },
      },
    }),
  );
  ok(
    await chair.POST("/v1/panel-referrals/{id}/decision", {
      params: { path: { id: referral.id } },
      body: { outcome: "accepted" },
    }),
  );

  const meeting: Schemas["Meeting"] = ok(
    await chair.POST("/v1/panels/{id}/meetings", {
      params: { path: { id: panelId } },
      body: { kind: "formal", scheduled_at: "2026-12-01T10:00:00Z", agenda: [referral.id] },
    }),
  );
  ok(
    await chair.POST("/v1/panel-meetings/{id}/attendance", {
      params: { path: { id: meeting.id } },
      body: { agencies: ["police", "youth_justice", "csc"] },
    }),
  );
  ok(
    await yot.POST("/v1/panel-meetings/{id}/discussions", {
      params: { path: { id: meeting.id } },
      body: { referral_id: referral.id, summary: "engaging", risk_level: "medium" },
    }),
  );
  const action: Schemas["Action"] = ok(
    await chair.POST("/v1/panel-actions", {
      body: {
        panel_id: panelId,
        referral_id: referral.id,
        description: "Return interview",
        owner_agency: "youth_justice",
        due_date: "2026-12-08",
      },
    }),
  );

  const tray = ok(await yot.GET("/v1/panel-actions", { params: { query: { owner_agency: "mine", overdue: "true" } } }));
  const overdue: string[] = tray.items.filter((a) => a.overdue).map((a) => a.description);
  const current = await yot.GET("/v1/panel-actions/{id}", { params: { path: { id: action.id } } });
  ok(
    await yot.PATCH("/v1/panel-actions/{id}", {
      params: { path: { id: action.id }, header: { "If-Match": etagOf(current) } },
      body: { status: "in_progress", progress_note: "booked for Thursday" },
    }),
  );

  const minutes = await yot.GET("/v1/panel-meetings/{id}/minutes", { params: { path: { id: meeting.id } } });
  const written = await yot.PATCH("/v1/panel-meetings/{id}/minutes", {
    params: { path: { id: meeting.id }, header: { "If-Match": etagOf(minutes) } },
    body: { text: "Present: police (chair), youth justice, CSC." },
  });
  ok(
    await chair.POST("/v1/panel-meetings/{id}/minutes/approval", {
      params: { path: { id: meeting.id }, header: { "If-Match": etagOf(written) } },
    }),
  );
  const log: string = ok(
    await yot.GET("/v1/panels/{id}/action-log", { params: { path: { id: panelId } }, parseAs: "text" }),
  );

  const closed: Schemas["Referral"] = ok(
    await chair.POST("/v1/panel-referrals/{id}/closure", {
      params: { path: { id: referral.id } },
      body: { reason: "risk_reduced" },
    }),
  );
  console.log(names, overdue, closed.status);
  return log;
}

/** The finance team's charges and the partnership's screening report: the
 * JSON routes are typed, each CSV is its own route, read as text. */
export async function reports(baseUrl: string, trainingAdmin: string, admin: string): Promise<string[]> {
  const ta = api(baseUrl, trainingAdmin);
  const partnership = api(baseUrl, admin);
  const query = { from: "2026-11-01", to: "2026-11-30", agency: "police" as Schemas["AgencyCode"] };
  const charges = ok(await ta.GET("/v1/training-charges", { params: { query: { ...query, limit: 200 } } }));
  const owed: number = charges.items.filter((c) => c.status === "outstanding").reduce((n, c) => n + c.amount_pence, 0);
  const chargesCsv: string = ok(await ta.GET("/v1/training-charges.csv", { params: { query }, parseAs: "text" }));
  const report = ok(await partnership.GET("/v1/screening-report", { params: { query: { from: "2026-01-01" } } }));
  const counts: (number | null)[] = report.items.map((i) => i.screenings);
  const reportCsv: string = ok(
    await partnership.GET("/v1/screening-report.csv", { params: { query: { from: "2026-01-01" } }, parseAs: "text" }),
  );
  console.log(owed, counts);
  return [chargesCsv, reportCsv];
}

/** What the schema itself forbids, so a generated client cannot send it. */
export async function refusedAtCompileTime(c: Client, childId: string, familyId: string): Promise<void> {
  const request = {
    agencies: ["police"] as Schemas["AgencyCode"][],
    purpose: "strategy discussion",
    lawful_basis: "children_act_1989_s47" as const,
    period_from: "2025-01-01",
    period_to: "2026-12-31",
    respond_by: "2026-12-31",
    share_until: "2027-01-31T00:00:00Z",
  };
  // a chronology request names its child or its family
  // @ts-expect-error neither child_id nor family_id
  await c.POST("/v1/chronology-requests", { body: { ...request } });
  await c.POST("/v1/chronology-requests", { body: { ...request, child_id: childId } });
  await c.POST("/v1/chronology-requests", { body: { ...request, family_id: familyId } });
  // a contribution is entries or no involvement
  // @ts-expect-error neither entry_ids nor no_involvement
  await c.POST("/v1/chronology-requests/{id}/contributions", { params: { path: { id: familyId } }, body: {} });
  // a search is by one kind of identifier
  // @ts-expect-error an empty search
  await c.POST("/v1/children/search", { body: {} });
  // @ts-expect-error a name search needs the date of birth too
  await c.POST("/v1/children/search", { body: { first_name: "Ellie", last_name: "Hart" } });
  // an audit event's details are readable
  const events = ok(await c.GET("/v1/audit-events", { params: { query: { limit: 1 } } }));
  const details: Record<string, unknown>[] = events.items.map((e) => e.details);
  console.log(details);
}
