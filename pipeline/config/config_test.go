package config

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
)

func TestParseRules(t *testing.T) {
	t.Setenv("TEST_UNDERSTUDY_KEY", "from-the-environment")
	cfg, err := Parse("understudy.yaml", []byte(`
source: postgres://u:pw@prod/db
key: ${TEST_UNDERSTUDY_KEY}
jobs: 3
tables:
  public.customers:
    columns:
      email: hash
      notes: null
      country: {transform: constant, value: "US"}
      city: keep
  audit_log: skip
  '"Mixed Case"."Order Lines"':
    columns:
      "Unit Price": null
`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Key.Value() != "from-the-environment" || cfg.Jobs != 3 || cfg.Source.Value() != "postgres://u:pw@prod/db" {
		t.Errorf("settings: key %q jobs %d source %q", cfg.Key.Value(), cfg.Jobs, cfg.Source.Value())
	}
	if len(cfg.Tables) != 3 {
		t.Fatalf("%d tables, want 3", len(cfg.Tables))
	}
	c := cfg.Tables[0]
	want := []string{"email=hash", "notes=null", "country=constant", "city=keep"}
	for i, w := range want {
		if got := c.Columns[i].Column + "=" + c.Columns[i].Transform; got != w {
			t.Errorf("rule %d: %s, want %s", i, got, w)
		}
	}
	if c.Columns[2].Params == nil || c.Columns[0].Line != 8 {
		t.Errorf("constant rule lost its parameters or line (%d)", c.Columns[0].Line)
	}
	if s := cfg.Tables[1]; !s.Skip || s.Schema != "public" || s.Name != "audit_log" {
		t.Errorf("skip table parsed as %+v", s)
	}
	if m := cfg.Tables[2]; m.Schema != "Mixed Case" || m.Name != "Order Lines" || m.Columns[0].Column != "Unit Price" {
		t.Errorf("quoted names parsed as %+v", m)
	}
}

func TestParseErrorsNameFileLineAndPath(t *testing.T) {
	cases := []struct{ src, want string }{
		{"tabels: {}\n", `cfg.yaml:1: unknown key "tabels" (did you mean "tables"?)`},
		{"jobs: many\n", `cfg.yaml:1: jobs: must be a whole number`},
		{"tables:\n  public.t:\n    colums: {}\n", `cfg.yaml:3: tables.public.t: unknown key "colums" (did you mean "columns"?)`},
		{"tables:\n  public.t:\n    columns:\n      a: {value: 1}\n", `cfg.yaml:4: tables.public.t.columns.a: a rule mapping needs a 'transform' key`},
		{"tables:\n  public.t: 3\n", `cfg.yaml:2: tables.public.t: must be 'skip' or a mapping`},
		{"tables:\n  a.b.c: skip\n", `tables.a.b.c: bad table name`},
		{"tables:\n  public.t:\n    percent: 0\n", `cfg.yaml:3: tables.public.t.percent: must be a number above 0 and at most 100, not "0"`},
		{"tables:\n  public.t:\n    percent: ten\n", `cfg.yaml:3: tables.public.t.percent: must be a number above 0`},
		{"tables:\n  public.t:\n    where: \"\"\n", `cfg.yaml:3: tables.public.t.where: must be an SQL condition`},
		{"tables:\n  public.t:\n    include_children: true\n", `cfg.yaml:2: tables.public.t.include_children: applies to a subset seed`},
		{"tables:\n  public.t:\n    skip: true\n    percent: 5\n", `cfg.yaml:2: tables.public.t: is skipped, so it cannot also be filtered`},
		{"tables:\n  public.t:\n    wher: x\n", `cfg.yaml:3: tables.public.t: unknown key "wher" (did you mean "where"?)`},
		{"scale: 0\n", `cfg.yaml:1: scale: must be a whole number of at least 1`},
		{"scale:\n  factr: 3\n", `cfg.yaml:2: scale: unknown key "factr" (did you mean "factor"?)`},
		{"scale:\n  shared: public.t\n", `cfg.yaml:2: scale.shared: must be a list`},
		{"scale:\n  jitter: {numbers: 2}\n", `cfg.yaml:2: scale.jitter.numbers: must be a fraction above 0 and below 1`},
		{"scale:\n  jitter: {date: 3d}\n", `cfg.yaml:2: scale.jitter: unknown key "date" (did you mean "dates"?)`},
		{"tables:\n  public.t: skip\n  t: skip\n", `cfg.yaml:3: tables.t: table listed twice`},
		{"key: [1, 2]\n", `cfg.yaml:1: key: must be a single value`},
		{"source: 'x\n", `cfg.yaml: `},
	}
	for _, tc := range cases {
		_, err := Parse("cfg.yaml", []byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.src, err, tc.want)
		}
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	cases := map[string]string{
		"postgres://bob:hunter2@db:5432/prod":               "postgres://bob:***@db:5432/prod",
		"postgresql://db/prod?user=bob&password=hunter2":    "postgresql://db/prod?password=***&user=bob",
		"host=db user=bob password=hunter2 dbname=prod":     "host=db user=bob password=*** dbname=prod",
		"host=db password='hunter2 with space' dbname=prod": "host=db password=*** dbname=prod",
		"postgres://bob@db/prod?sslpassword=hunter2":        "postgres://bob@db/prod?sslpassword=***",
		"host=db sslkey=k.pem sslpassword=hunter2":          "host=db sslkey=k.pem sslpassword=***",
	}
	for in, want := range cases {
		got := DSN(in).String()
		if got != want || strings.Contains(got, "hunter2") {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
	if s := Secret("hunter2").String(); strings.Contains(s, "hunter2") {
		t.Errorf("secret printed as %q", s)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("tables:\n  public.t:\n    columns:\n      a: hash\n"))
	f.Add([]byte("source: x\ntarget: y\njobs: 2\n"))
	f.Add([]byte(`tables: {'"a""b".c': skip}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("f.yaml", data)
		if err == nil && cfg == nil {
			t.Fatal("nil config without error")
		}
		if err != nil && !strings.HasPrefix(err.Error(), "f.yaml") {
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}

// A reference may point into a json column: the values of the key are at a path inside it.
// The subset and scale settings parse into their fields.
func TestParseSubsetAndScale(t *testing.T) {
	cfg, err := Parse("cfg.yaml", []byte("tables:\n  public.c:\n    where: \"id > 3\"\n    percent: 12.5\n    include_children: true\nscale:\n  factor: 4\n  shared: [public.p, s.q]\n  jitter: {dates: 30d, numbers: 0.05}\n"))
	if err != nil {
		t.Fatal(err)
	}
	tr := cfg.Tables[0]
	if tr.Where != "id > 3" || tr.Percent != 12.5 || !tr.IncludeChildren || !tr.Seed() || tr.SeedLine != 3 {
		t.Errorf("table: %+v", tr)
	}
	sc := cfg.Scale
	if sc == nil || sc.Factor != 4 || len(sc.Shared) != 2 || sc.Shared[1].Schema != "s" || sc.Shared[1].Name != "q" || sc.JitterDates != "30d" || sc.JitterNumbers != 0.05 {
		t.Errorf("scale: %+v", sc)
	}
	if cfg, err := Parse("cfg.yaml", []byte("scale: 7\n")); err != nil || cfg.Scale.Factor != 7 {
		t.Errorf("scale: 7 gave %+v, %v", cfg, err)
	}
}

func TestParseReferenceIntoJSON(t *testing.T) {
	cfg, err := Parse("c.yaml", []byte("references:\n  - {from: public.events.payload, path: \"$.customer.email\", to: public.customers.email}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r := cfg.References[0]; r.From.String() != "public.events.payload" || r.Path != "$.customer.email" || r.To.String() != "public.customers.email" {
		t.Errorf("parsed as %+v", r)
	}
	_, err = Parse("c.yaml", []byte("references:\n  - {from: public.events.payload, path: customer.email, to: public.customers.email}\n"))
	if err == nil || !strings.Contains(err.Error(), "c.yaml:2: references[0].path: must be a JSONPath") {
		t.Errorf("a path without $ gave %v", err)
	}
}

// A rule written out with Spec and read back with FromSpecs is the rule as configured: the
// same transformer and the same parameters, quoted names and conditions included.
func TestRuleSpecsRoundTrip(t *testing.T) {
	cfg, err := Parse("c.yaml", []byte(`tables:
  '"Sales"."Order Lines"':
    columns:
      "E-mail": {transform: email, keep_domain: true}   # a comment
      note: {transform: template, template: "about {name}: {#}", when: "country = 'DE'"}
      name: first_name
`))
	if err != nil {
		t.Fatal(err)
	}
	specs := map[string]map[string]string{}
	for _, tr := range cfg.Tables {
		specs[tr.Table] = map[string]string{}
		for _, cr := range tr.Columns {
			s, err := cr.Spec()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(s, "\n") || strings.Contains(s, "comment") {
				t.Errorf("%s: spec %q is not one clean line", cr.Column, s)
			}
			specs[tr.Table][cr.Column] = s
		}
	}
	back, err := FromSpecs("manifest.json", specs)
	if err != nil {
		t.Fatal(err)
	}
	describe := func(c *Config) []string {
		var out []string
		for _, tr := range c.Tables {
			for _, cr := range tr.Columns {
				var p any
				if cr.Params != nil {
					cr.Params.Decode(&p)
				}
				out = append(out, fmt.Sprintf("%s/%s %s.%s %s %v", tr.Schema, tr.Name, tr.Table, cr.Column, cr.Transform, p))
			}
		}
		sort.Strings(out)
		return out
	}
	if got, want := describe(back), describe(cfg); !reflect.DeepEqual(got, want) {
		t.Errorf("read back:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
