package config

import "testing"

// The config's fingerprint changes with what the rows get, and only with that: a resumed
// snapshot is refused under another config, and not for a comment or a changed jobs: line.
func TestFingerprintFollowsWhatTheRowsGet(t *testing.T) {
	const base = `source: postgres://u:pw@prod/shop
jobs: 4
tables:
  public.customers:
    where: "id < 100"
    columns:
      email: {transform: email, keep_domain: true}
      notes: null
scale:
  factor: 3
  shared: [public.products]
`
	fp := func(src string) string {
		t.Helper()
		cfg, err := Parse("c.yaml", []byte(src))
		if err != nil {
			t.Fatalf("%v\n%s", err, src)
		}
		return cfg.Fingerprint()
	}
	want := fp(base)
	same := map[string]string{
		"another source, key and jobs": `source: postgres://u:other@replica/shop
key: some-other-key-0123456789
jobs: 16
tables:
  public.customers:
    where: "id < 100"
    columns:
      email: {transform: email, keep_domain: true}
      notes: null
scale:
  factor: 3
  shared: [public.products]
`,
		"comments, lines and parameter order": `# nightly
jobs: 4

tables:
  public.customers:   # the people
    where: "id < 100"
    columns:
      email: {keep_domain: true, transform: email}  # domains stay
      notes: null
scale:
  factor: 3
  shared: [public.products]
`,
	}
	for name, src := range same {
		if got := fp(src); got != want {
			t.Errorf("%s: fingerprint %s, want %s as for the base config", name, got, want)
		}
	}
	differ := map[string]string{
		"a parameter": `{transform: email, keep_domain: false}`,
		"a rule":      `phone`,
	}
	for name, rule := range differ {
		src := `tables:
  public.customers:
    where: "id < 100"
    columns:
      email: ` + rule + `
      notes: null
scale:
  factor: 3
  shared: [public.products]
`
		if got := fp(src); got == want {
			t.Errorf("another %s: same fingerprint %s", name, got)
		}
	}
	for name, src := range map[string]string{
		"another subset": `tables:
  public.customers:
    where: "id < 200"
    columns:
      email: {transform: email, keep_domain: true}
      notes: null
scale:
  factor: 3
  shared: [public.products]
`,
		"another scale": `tables:
  public.customers:
    where: "id < 100"
    columns:
      email: {transform: email, keep_domain: true}
      notes: null
scale:
  factor: 4
  shared: [public.products]
`,
	} {
		if got := fp(src); got == want {
			t.Errorf("%s: same fingerprint %s", name, got)
		}
	}
}
