package job

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/understudy-dev/understudy/pipeline/failure"
	"github.com/understudy-dev/understudy/pipeline/pgsource"
	"github.com/understudy-dev/understudy/pipeline/snapshot"
	"github.com/understudy-dev/understudy/pipeline/store"
)

// snapshotContents sorts what the location holds, refusing one that holds anything but an
// understudy snapshot.
func snapshotContents(ctx context.Context, s store.Store) (*snapshot.Contents, error) {
	c, err := snapshot.Inspect(ctx, s)
	if err != nil {
		return nil, err
	}
	if len(c.Foreign) > 0 {
		return nil, failure.WithCode(failure.ExitUnsafe,
			"give the snapshot a location of its own (an empty directory or a new prefix): understudy writes into, and deletes from, only its own snapshots",
			&snapshot.ForeignError{Location: s.String(), Foreign: c.Foreign})
	}
	return c, nil
}

// lockRefusal turns a lock that another run holds into a refusal that says what to do.
func lockRefusal(err error) error {
	var le *snapshot.LockedError
	switch {
	case errors.As(err, &le) && le.Stale:
		return failure.WithCode(failure.ExitUnsafe, "pass --resume to finish what it wrote, or --replace to start over (either takes its lock over)", err)
	case errors.As(err, &le):
		return failure.WithCode(failure.ExitUnsafe, fmt.Sprintf("wait for it to end; a run that was killed leaves a lock that goes stale %s after its last heartbeat "+
			"(at once on the same host), and --resume or --replace then take it over", snapshot.LockStaleAfter), err)
	}
	return err
}

// runRecord describes this run for its progress record: the source's identity, the
// fingerprints of the config and key.
func runRecord(ctx context.Context, o SnapshotOptions, src *pgsource.Source, run string, started time.Time, keyFP string) (snapshot.RunRecord, error) {
	id, err := sourceIdentity(ctx, src)
	if err != nil {
		return snapshot.RunRecord{}, err
	}
	c := *o.config()
	c.Scale = o.scale() // --scale changes the rows as scale: in the file does
	return snapshot.RunRecord{Run: run, Started: started.UTC(), Source: id, ConfigFingerprint: c.Fingerprint(), KeyFingerprint: keyFP}, nil
}

// sourceIdentity reads which database the source is: postgres.Identify's cluster and name,
// and the database's OID, which tells a database from another created under the same name.
func sourceIdentity(ctx context.Context, src *pgsource.Source) (snapshot.SourceIdentity, error) {
	id := snapshot.SourceIdentity{SystemIdentifier: src.Identity.SystemID, Database: src.Identity.Database}
	if id.SystemIdentifier == "" {
		id.Server = src.Identity.Server
	}
	if err := src.Querier().QueryRow(ctx, "SELECT oid FROM pg_database WHERE datname = current_database()").Scan(&id.DatabaseOID); err != nil {
		return id, fmt.Errorf("source: database OID: %w", err)
	}
	return id, nil
}

// provenSameRun checks that run continues the runs the progress records describe: the same
// source database, config and key. It returns the ids of those runs, whose finished units
// may be kept.
func provenSameRun(loc store.Store, p *snapshot.Progress, run snapshot.RunRecord) (map[string]bool, error) {
	hint := "resume with the source, config and key the snapshot was started with, or pass --replace to start over"
	if len(p.Runs) == 0 && len(p.Units) > 0 {
		return nil, failure.Errorf(failure.ExitUnsafe, "pass --replace to start over",
			"--resume: the unfinished snapshot at %s does not record which source, config and key it was started with "+
				"(an older understudy wrote it), so it cannot be proved to be the same", loc)
	}
	same := map[string]bool{}
	for _, r := range p.Runs {
		if diff := r.Differences(run); len(diff) > 0 {
			return nil, failure.Errorf(failure.ExitUnsafe, hint,
				"--resume: the unfinished snapshot at %s was started %s from another source, config or key: %s",
				loc, r.Started.UTC().Format(time.RFC3339), strings.Join(diff, "; "))
		}
		same[r.Run] = true
	}
	return same, nil
}

// sortedTables is for messages and records.
func sortedTables(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for t := range m {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}
