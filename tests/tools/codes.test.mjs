// codes.test.mjs - the checks on check-codes.mjs: it reads the codes and
// problem types the C sources send (through wrappers too), refuses an
// argument it cannot read, and reports a difference with the document either
// way; and on this tree it finds none.  No server needed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { scanSources, scanNginx, compare, checkTree } from './check-codes.mjs';

const src = (text) => [{ path: 'x.c', text }];

describe('check-codes reads what the sources send', () => {
  it('codes from verrs_add, ternaries, field specs and wrappers; types from http_problem and hand-written bodies', () => {
    const { codes, types, errors } = scanSources(src(`
      /* verrs_add(e, "f", "in_a_comment", "m") is not a call */
      static const struct field_spec f[] = {{.name = "n", .check = c, .check_code = "from_spec"}};
      static int bad(struct sg_req *r, const char *field, const char *why, const char *message)
      {
        struct verrs errs = {0};
        verrs_add(&errs, field, why, message);
        return http_problem_errors(r, 400, "validation-failed", "d", &errs);
      }
      static void check(json_t *b, struct verrs *errs, const struct field_spec *s)
      {
        verrs_add(errs, "a", s->min == 1 ? "required" : "too_short", "m");
        verrs_add(errs, "b", s->check_code ? s->check_code : "invalid_format", "m");
        if (x) bad(r, "c", "via_wrapper", "m");
        json_pack("{s:s}", "type", "/problems/by-hand");
        http_problem(r, 409, "conflict", "it is " "closed");
        own(r, 409, "already-there", "d");
      }
      static int own(struct sg_req *r, int status, const char *slug, const char *detail)
      {
        return answer(r, arena_printf(r->arena, "/problems/%s", slug));
      }`));
    assert.deepEqual(errors, []);
    assert.deepEqual([...codes.keys()].sort(),
      ['from_spec', 'invalid_format', 'required', 'too_short', 'via_wrapper']);
    assert.deepEqual([...types.keys()].sort(),
      ['/problems/already-there', '/problems/by-hand', '/problems/conflict', '/problems/validation-failed']);
    assert.match(codes.get('via_wrapper')[0], /^x\.c:14$/);
  });

  it('refuses a code it cannot read from the source', () => {
    const { errors } = scanSources(src(`
      static void f(struct verrs *errs) { const char *c = pick(); verrs_add(errs, "a", c, "m"); }`));
    assert.equal(errors.length, 1);
    assert.match(errors[0], /x\.c:2: cannot tell which error codes verrs_add\(\.\.\., c, \.\.\.\) sends/);
  });

  it("reads nginx's own problems", () => {
    const t = scanNginx(`return 429 '{"type":"/problems/rate-limited","title":"T"}';\n`);
    assert.deepEqual([...t.keys()], ['/problems/rate-limited']);
  });
});

describe('check-codes reports every difference either way', () => {
  const sent = {
    errors: [],
    codes: new Map([['required', ['a.c:1']], ['new_code', ['a.c:2']]]),
    types: new Map([['/problems/conflict', ['a.c:3']], ['/problems/new-type', ['a.c:4']]]),
  };
  const doc = {
    codes: ['required', 'stale_code'],
    codeDescriptions: { required: 'r', stale_code: 's', ghost: 'g' },
    types: ['/problems/conflict', '/problems/stale'],
    typeTable: new Map([['/problems/conflict', {}]]),
  };
  const out = compare(sent, doc);
  for (const re of [
    /error code "new_code" is sent \(a\.c:2\) but FieldError\.code does not list it/,
    /error code "stale_code" is in FieldError\.code but nothing sends it/,
    /x-enumDescriptions explains "ghost"/,
    /problem type "\/problems\/new-type" is sent \(a\.c:4\)/,
    /problem type "\/problems\/stale" is in Problem\.type but nothing sends it/,
    /problem type "\/problems\/stale" has no row in the introduction's table/,
  ]) {
    it(`reports ${re}`, () => assert.ok(out.some((l) => re.test(l)), out.join('\n')));
  }
  it('and nothing else', () => assert.equal(out.length, 6, out.join('\n')));
  it('a description missing for a listed code is a difference', () => {
    assert.ok(compare({ ...sent, codes: new Map([['required', []]]) }, { ...doc, codes: ['required'], codeDescriptions: {} })
      .some((l) => /"required" has no line in FieldError\.code's x-enumDescriptions/.test(l)));
  });
});

describe('this tree', () => {
  it('sends exactly the codes and problem types openapi.yaml publishes', () => {
    const { differences, sent } = checkTree();
    assert.deepEqual(differences, []);
    assert.ok(sent.codes.size > 30 && sent.types.size > 20, 'the scan found the sources');
  });
});
