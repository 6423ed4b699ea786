package job

import (
	"context"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/transforms"
)

// The workflow the README promises: init writes a config for a database, sync runs it with
// the PII guard on (the suggested rules cover every personal column), and verify passes —
// no identifier survived, every constraint holds. On both public databases.
func TestInitSyncVerifyWorkflow(t *testing.T) {
	for _, dataset := range []string{"chinook", "pagila"} {
		t.Run(dataset, func(t *testing.T) {
			src := pgtest.LoadDataset(t, dataset)
			dst := pgtest.NewDB(t)
			var text strings.Builder
			if err := Init(context.Background(), InitOptions{Source: config.DSN(src), Out: &text}); err != nil {
				t.Fatal(err)
			}
			t.Setenv("UNDERSTUDY_KEY", "workflow-test-key-0123456789")
			cfg, err := config.Parse("init.yaml", []byte(text.String()))
			if err != nil {
				t.Fatalf("%v\n%s", err, text.String())
			}
			key, err := transforms.NewKey(cfg.Key.Value())
			if err != nil {
				t.Fatal(err)
			}
			o := syncOpts(src, dst)
			o.Config, o.Key, o.AllowUnmasked = cfg, key, false
			if _, err := Sync(context.Background(), o); err != nil {
				t.Fatalf("sync with the config init wrote: %v\n%s", err, text.String())
			}
			var out strings.Builder
			if _, err := Verify(context.Background(), VerifyOptions{Source: config.DSN(src), Target: config.DSN(dst), Rules: Rules{Config: cfg, Key: key}, Out: &out}); err != nil {
				t.Fatalf("verify: %v\n%s", err, out.String())
			}
			if !strings.Contains(out.String(), "every check passed") {
				t.Errorf("verify report:\n%s", out.String())
			}
		})
	}
}
