package job

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/pipeline/pgsource"
	"github.com/understudy-dev/understudy/pipeline/pii"
	"github.com/understudy-dev/understudy/pipeline/postgres"
	"github.com/understudy-dev/understudy/schemas"
)

// InitOptions configure Init.
type InitOptions struct {
	Source config.DSN
	Out    io.Writer
}

// Init writes a starter config for the whole source database: every column of every table,
// personal-looking ones with a suggested rule and the reason, all others marked keep, so
// that a reviewer sees every decision. Partitions are written once, as their partitioned
// table (rules on it apply to every partition).
func Init(ctx context.Context, o InitOptions) error {
	src, err := pgsource.Open(ctx, o.Source.Value())
	if err != nil {
		return err
	}
	defer src.Close(context.WithoutCancel(ctx))
	cat := src.Catalog()
	var sampled []*schemas.Table
	for _, t := range cat.Tables {
		if t.Kind == 'r' {
			sampled = append(sampled, t)
		}
	}
	if err := postgres.CheckSource(ctx, src.Querier(), postgres.SourceNeeds{Read: sampled}); err != nil {
		return err
	}
	found, err := pii.Detect(ctx, src.Querier(), cat.Tables, nil)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	// Findings on partitions are findings on their partitioned table.
	byTable := map[schemas.Name]map[string]pii.Finding{}
	for _, f := range found {
		t := cat.Table(f.Table).Root()
		if byTable[t.Name] == nil {
			byTable[t.Name] = map[string]pii.Finding{}
		}
		if _, dup := byTable[t.Name][f.Column]; !dup {
			byTable[t.Name][f.Column] = f
		}
	}
	var db string
	if err := src.Querier().QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil {
		return fmt.Errorf("source: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `# understudy configuration for database %q, written by 'understudy init' on %s.
#
# Every column of every table is listed. Columns that look like personal data have a
# suggested rule (and why they were flagged): check each one. All other columns are marked
# keep, meaning "not personal data, copy as is": check those too. A rule on a key column
# follows every foreign key to it. Transformers: 'understudy transformers'; reference: README.
key: ${UNDERSTUDY_KEY}
tables:
`, db, time.Now().UTC().Format("2006-01-02"))
	flagged := 0
	for _, t := range cat.Tables {
		if t.Parent != nil || t.Kind != 'r' && t.Kind != 'p' {
			continue
		}
		fs := byTable[t.Name]
		fmt.Fprintf(&b, "  %s:\n    columns:\n", pii.YAMLKey(pii.ConfigName(t.Name)))
		w := 0
		for _, c := range t.Columns {
			w = max(w, len(pii.YAMLKey(c.Name)))
		}
		if len(fs) > 0 {
			b.WriteString("      # looks like personal data:\n")
			for _, c := range t.Columns {
				if f, ok := fs[c.Name]; ok {
					fmt.Fprintf(&b, "      %-*s %-16s # %s: %s\n", w+1, pii.YAMLKey(c.Name)+":", f.Suggest, f.Category, f.Reason)
					flagged++
				}
			}
		}
		kept := false
		for _, c := range t.Columns {
			if _, ok := fs[c.Name]; ok || c.Generated {
				continue
			}
			if !kept {
				b.WriteString("      # not personal data, copied as is:\n")
				kept = true
			}
			fmt.Fprintf(&b, "      %-*s keep\n", w+1, pii.YAMLKey(c.Name)+":")
		}
	}
	fmt.Fprintf(&b, "# %d column(s) flagged as personal data.\n", flagged)
	_, err = io.WriteString(o.Out, b.String())
	return err
}
