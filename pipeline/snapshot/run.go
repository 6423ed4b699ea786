package snapshot

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/understudy-dev/understudy/pipeline/store"
	"github.com/understudy-dev/understudy/schemas"
)

// RunRecord is written under _progress/ by every snapshot run before it writes any part: what
// it reads and how, so that --resume can prove it continues the same thing, and which
// table directories it (or a snapshot it replaced) may have written parts into, so that
// clean-up deletes nothing else. It names no secret: fingerprints only.
type RunRecord struct {
	Run     string         `json:"run"` // the run's id, as in its lock and its unit records
	Started time.Time      `json:"started"`
	Source  SourceIdentity `json:"source"`
	// ConfigFingerprint identifies what the config asks of the rows (config.Fingerprint, with
	// a --scale override applied); KeyFingerprint the anonymization key ("" for none).
	ConfigFingerprint string `json:"config_fingerprint"`
	KeyFingerprint    string `json:"key_fingerprint,omitempty"`
	// Tables are table directories (the <dir> of data/<dir>/) whose parts the run, or a run or
	// snapshot it took over, may have written.
	Tables []string `json:"tables"`
}

// SourceIdentity says which database a snapshot reads: the cluster (its system identifier, or
// the server's address when that is hidden from the role), the database's OID and name. A
// database dropped and created again, or restored from a backup, under the same name has
// another OID.
type SourceIdentity struct {
	SystemIdentifier string `json:"system_identifier,omitempty"`
	Server           string `json:"server,omitempty"`
	DatabaseOID      uint32 `json:"database_oid"`
	Database         string `json:"database"`
}

// Differences lists, for a message, how the run r differs from the recorded run rec: an
// empty list means --resume continues the same thing.
func (rec RunRecord) Differences(r RunRecord) []string {
	var out []string
	a, b := rec.Source, r.Source
	switch {
	case a.SystemIdentifier != "" && b.SystemIdentifier != "":
		if a.SystemIdentifier != b.SystemIdentifier {
			out = append(out, fmt.Sprintf("source cluster: system identifier %s recorded, %s now", a.SystemIdentifier, b.SystemIdentifier))
		}
	case a.Server != b.Server || a.SystemIdentifier != b.SystemIdentifier:
		out = append(out, fmt.Sprintf("source cluster: %s recorded, %s now", a.cluster(), b.cluster()))
	}
	if a.Database != b.Database {
		out = append(out, fmt.Sprintf("source database: %q recorded, %q now", a.Database, b.Database))
	}
	if a.DatabaseOID != b.DatabaseOID {
		out = append(out, fmt.Sprintf("source database OID: %d recorded, %d now (dropped and created again, or restored from a backup?)", a.DatabaseOID, b.DatabaseOID))
	}
	if rec.ConfigFingerprint != r.ConfigFingerprint {
		out = append(out, fmt.Sprintf("config: fingerprint %s recorded, %s now", rec.ConfigFingerprint, r.ConfigFingerprint))
	}
	if rec.KeyFingerprint != r.KeyFingerprint {
		out = append(out, fmt.Sprintf("key: fingerprint %s recorded, %s now", orNone(rec.KeyFingerprint), orNone(r.KeyFingerprint)))
	}
	return out
}

func (i SourceIdentity) cluster() string {
	if i.SystemIdentifier != "" {
		return "system identifier " + i.SystemIdentifier
	}
	return "server " + i.Server
}

func orNone(fp string) string {
	if fp == "" {
		return "none"
	}
	return fp
}

func runRecordName(r RunRecord) string {
	return progressDir + "run-" + r.Started.UTC().Format("20060102T150405.000000000Z") + "-" + r.Run + ".json"
}

// WriteRunRecord records the run r.
func WriteRunRecord(ctx context.Context, s store.Store, r RunRecord) error {
	sort.Strings(r.Tables)
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = WriteFile(ctx, s, runRecordName(r), data)
	return err
}

// Progress is what the progress records of an unfinished snapshot say.
type Progress struct {
	Runs  []RunRecord  // by start time
	Units []UnitRecord // finished units, of any run
	// Unreadable lists records that could not be read.
	Unreadable []string
}

// ReadProgress reads every progress record at s.
func ReadProgress(ctx context.Context, s store.Store) (*Progress, error) {
	objs, err := s.List(ctx, progressDir)
	if err != nil {
		return nil, err
	}
	p := &Progress{}
	for _, o := range objs {
		isRun, isUnit := runPattern.MatchString(o.Name), unitPattern.MatchString(o.Name)
		if !isRun && !isUnit {
			continue
		}
		r, err := s.Open(ctx, o.Name)
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(io.LimitReader(r, 64<<20))
		r.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s/%s: %w", s, o.Name, err)
		}
		if isRun {
			var rr RunRecord
			if json.Unmarshal(data, &rr) != nil || rr.Run == "" {
				p.Unreadable = append(p.Unreadable, o.Name)
				continue
			}
			p.Runs = append(p.Runs, rr)
			continue
		}
		var u UnitRecord
		if json.Unmarshal(data, &u) != nil {
			p.Unreadable = append(p.Unreadable, o.Name) // the unit is done again
			continue
		}
		p.Units = append(p.Units, u)
	}
	sort.SliceStable(p.Runs, func(i, j int) bool { return p.Runs[i].Started.Before(p.Runs[j].Started) })
	return p, nil
}

// Tables returns the table directories the records say their runs may have written into.
func (p *Progress) Tables() []string {
	seen := map[string]bool{}
	for _, r := range p.Runs {
		for _, t := range r.Tables {
			seen[t] = true
		}
	}
	for _, u := range p.Units {
		seen[tableDir(u.Table)] = true
	}
	return sortedKeys(seen)
}

// Dir is a table's directory under data/ (the <dir> of PartName).
func Dir(t schemas.Name) string { return tableDir(t) }

// ManifestTables returns the table directories of a finished snapshot's parts.
func ManifestTables(m *Manifest) []string {
	seen := map[string]bool{}
	for _, t := range m.Tables {
		for _, p := range t.Parts {
			if d := partDir(p.Path); d != "" {
				seen[d] = true
			}
		}
	}
	return sortedKeys(seen)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ClearProgress deletes the progress records, except those of the run keep ("" for none).
func ClearProgress(ctx context.Context, s store.Store, keep string) error {
	objs, err := s.List(ctx, progressDir)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if !isProgress(o.Name) || keep != "" && strings.HasSuffix(o.Name, "-"+keep+".json") && runPattern.MatchString(o.Name) {
			continue
		}
		if err := s.Delete(ctx, o.Name); err != nil {
			return err
		}
	}
	return nil
}

// RemoveStray deletes, once the snapshot m is finished, what no longer belongs to it: every
// progress record, and each part in one of the table directories tables that m does not
// list. Nothing else: not an object of another name, not a part in another directory.
func RemoveStray(ctx context.Context, s store.Store, m *Manifest, tables []string) error {
	keep := map[string]bool{}
	for _, t := range m.Tables {
		for _, p := range t.Parts {
			keep[p.Path] = true
		}
	}
	dirs := map[string]bool{}
	for _, t := range tables {
		dirs[t] = true
	}
	objs, err := s.List(ctx, "")
	if err != nil {
		return err
	}
	for _, o := range objs {
		if d := partDir(o.Name); isProgress(o.Name) || d != "" && dirs[d] && !keep[o.Name] {
			if err := s.Delete(ctx, o.Name); err != nil {
				return err
			}
		}
	}
	return nil
}
