package snapshot

import (
	"context"
	"fmt"
	"regexp"

	"github.com/understudy-dev/understudy/pipeline/store"
)

// understudy knows its own files by their names: the snapshot's files, its progress records
// and its lock. A location holding any other object is not an understudy snapshot, and a
// snapshot run refuses it; clean-up never deletes an object whose name is not one of these
// (and deletes those only when its records say it, or a run it took over, wrote them).
var (
	partPattern   = regexp.MustCompile(`^data/([^/]+)/part-[0-9]{5,}-[0-9]{3,}\.parquet$`)
	unitPattern   = regexp.MustCompile(`^_progress/([^/]+)/unit-[0-9]{5,}\.json$`)
	runPattern    = regexp.MustCompile(`^_progress/run-[0-9A-Za-z.-]+\.json$`)
	lockPattern   = regexp.MustCompile(`^_lock/[0-9]{10}\.json$`)
	snapshotFiles = map[string]bool{ManifestName: true, SignatureName: true, PreDataName: true, PostDataName: true}
)

// IsOwnName reports whether name is the name of a file understudy writes into a snapshot's
// location.
func IsOwnName(name string) bool {
	return snapshotFiles[name] || partPattern.MatchString(name) || unitPattern.MatchString(name) ||
		runPattern.MatchString(name) || lockPattern.MatchString(name)
}

// partDir returns the table directory (data/<dir>/) of a part's name, or "" for another name.
func partDir(name string) string {
	if m := partPattern.FindStringSubmatch(name); m != nil {
		return m[1]
	}
	return ""
}

func isProgress(name string) bool {
	return unitPattern.MatchString(name) || runPattern.MatchString(name)
}

// Contents is what a location holds, sorted by understudy's names.
type Contents struct {
	// Foreign are the objects that are not understudy's, sorted.
	Foreign []string
	// Own are understudy's objects, its lock excepted.
	Own []string
	// Finished: the manifest is there.
	Finished bool
}

// Inspect lists the location and sorts what it holds.
func Inspect(ctx context.Context, s store.Store) (*Contents, error) {
	objs, err := s.List(ctx, "")
	if err != nil {
		return nil, err
	}
	c := &Contents{}
	for _, o := range objs {
		switch {
		case !IsOwnName(o.Name):
			c.Foreign = append(c.Foreign, o.Name)
		case lockPattern.MatchString(o.Name):
		default:
			c.Own = append(c.Own, o.Name)
			c.Finished = c.Finished || o.Name == ManifestName
		}
	}
	return c, nil
}

// ForeignError says a location holds objects that are not understudy's.
type ForeignError struct {
	Location string
	Foreign  []string
}

func (e *ForeignError) Error() string {
	more := ""
	switch n := len(e.Foreign) - 1; {
	case n == 1:
		more = " (and 1 other object)"
	case n > 1:
		more = fmt.Sprintf(" (and %d other objects)", n)
	}
	return fmt.Sprintf("%s holds %s%s, which understudy did not write: it is not an understudy snapshot", e.Location, e.Foreign[0], more)
}
