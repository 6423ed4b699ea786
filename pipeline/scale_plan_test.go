package pipeline

import (
	"context"
	"testing"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/schemas"
)

// Partitions of one table are one logical table for scaling as for rule propagation: a
// partition without the foreign key its sibling has still moves that column with the key
// it references, so copy i of its rows points at copy i of the parent rows, as the
// sibling's do.
func TestScaleMovesAColumnASiblingPartitionReferences(t *testing.T) {
	dsn := pgtest.NewDB(t)
	conn := pgtest.Connect(t, dsn)
	pgtest.Exec(t, conn, `
CREATE TABLE regions (id int PRIMARY KEY);
CREATE TABLE events (id int, y int, region int, PRIMARY KEY (id, y)) PARTITION BY LIST (y);
CREATE TABLE events_2023 PARTITION OF events FOR VALUES IN (2023);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES IN (2024);
ALTER TABLE events_2023 ADD FOREIGN KEY (region) REFERENCES regions;
INSERT INTO regions SELECT generate_series(1, 5);
INSERT INTO events SELECT i, 2023 + i % 2, 1 + i % 5 FROM generate_series(1, 20) i;`)
	ctx := context.Background()
	cat, err := schemas.LoadCatalog(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{}
	plan, err := BuildPlan(cat, cfg, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.ApplyScale(ctx, SQLStats{Q: conn}, cfg, &config.Scale{Factor: 3}, PlanOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tp := range plan.Tables {
		if tp.Parent == nil {
			continue
		}
		var domain string
		for _, m := range tp.Remaps {
			if m.Column.Name == "region" {
				domain = m.Domain
			}
		}
		if domain != "public.regions.id" {
			t.Errorf("%s.region moves in the domain %q, want public.regions.id (remaps %+v)", tp.Name, domain, tp.Remaps)
		}
	}
}
