// Package snapshot defines the snapshot format — the manifest, the names of the files under
// a snapshot's prefix — and reads, checks and lists snapshots in a store. It is the contract
// of docs/snapshot-format.md; the sink that writes snapshots and the source that restores
// them are pipeline/snapshotsink and pipeline/snapshotsource.
package snapshot

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/understudy-dev/understudy/pipeline/store"
	"github.com/understudy-dev/understudy/schemas"
)

// Format and Version identify the manifest. A reader refuses a newer Version.
const (
	Format  = "understudy-snapshot"
	Version = 1
)

// Names of the files under a snapshot's prefix.
const (
	ManifestName = "manifest.json"
	PreDataName  = "schema/pre-data.sql"
	PostDataName = "schema/post-data.sql"
	// progressDir holds, while a snapshot is being written, a record of each run (RunRecord)
	// and one of each finished unit (UnitRecord); they let --resume skip the units and prove
	// it continues the same thing. Removed once the manifest is written.
	progressDir = "_progress/"
)

// Manifest describes a finished snapshot. It is written last: a prefix without one is an
// unfinished snapshot.
type Manifest struct {
	Format  string    `json:"format"`
	Version int       `json:"version"`
	Created time.Time `json:"created"`
	Tool    string    `json:"tool"`
	Source  Source    `json:"source"`
	// KeyFingerprint identifies the anonymization key (never the key itself); empty when no
	// keyed rule ran.
	KeyFingerprint string `json:"key_fingerprint,omitempty"`
	// Resumed lists the times of earlier runs whose finished parts this snapshot reused.
	Resumed   []time.Time       `json:"resumed,omitempty"`
	Schema    SchemaFiles       `json:"schema"`
	Tables    []Table           `json:"tables"`
	Sequences []Sequence        `json:"sequences"`
	Catalog   *schemas.Catalog  `json:"catalog"`
	Rows      int64             `json:"rows"`
	Bytes     int64             `json:"bytes"`
	Extra     map[string]string `json:"extra,omitempty"`
	// Shape says whether the rows are a subset of the source's and how many times they were
	// written (scale); nil in snapshots written before it was recorded.
	Shape *Shape `json:"shape,omitempty"`
}

// Shape is how a snapshot's rows relate to the source's.
type Shape struct {
	Subset bool `json:"subset"` // the config filtered tables (where, percent)
	Scale  int  `json:"scale"`  // each non-shared table's rows written this many times (1: not scaled)
}

// Source says where the rows came from.
type Source struct {
	ServerVersion string `json:"server_version"`
	Database      string `json:"database"`
	Snapshot      string `json:"snapshot"` // the exported snapshot id the rows were read in
}

// SchemaFiles are the DDL files.
type SchemaFiles struct {
	PreData  File `json:"pre_data"`
	PostData File `json:"post_data"`
}

// File is one file of the snapshot with its checksum.
type File struct {
	Path   string `json:"path"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Part is one Parquet file of a table's rows: part Piece of chunk Unit.
type Part struct {
	File
	Unit  int   `json:"unit"`
	Piece int   `json:"piece"`
	Rows  int64 `json:"rows"`
	// Raw lists the columns this part carries as wire bytes although the table's columns say
	// native: a value of the chunk did not fit the native type (a timestamp after 294246 AD).
	Raw []string `json:"raw,omitempty"`
}

// Column is one column of a table's parts.
type Column struct {
	Name     string `json:"name"`
	Type     string `json:"type"`     // format_type, e.g. character varying(40)
	OID      uint32 `json:"oid"`      // in the source database
	Encoding string `json:"encoding"` // native or binary (see pgarrow)
}

// Table is one table's rows.
type Table struct {
	Name schemas.Name `json:"name"`
	// TextFormat: the rows are COPY text lines (types without a binary round trip).
	TextFormat bool              `json:"text_format,omitempty"`
	Columns    []Column          `json:"columns"`
	Rules      map[string]string `json:"rules,omitempty"` // column → rule applied
	// RuleSpecs holds, for each column whose rule was configured (not followed from a key),
	// that rule as the config wrote it (config.ColumnRule.Spec), so that a restore that scales
	// can give the new copies fresh values with it.
	RuleSpecs map[string]string `json:"rule_specs,omitempty"`
	Rows      int64             `json:"rows"`
	Bytes     int64             `json:"bytes"`
	Parts     []Part            `json:"parts"`
}

// Sequence is a sequence's value when the rows were read.
type Sequence struct {
	Name      schemas.Name `json:"name"`
	LastValue int64        `json:"last_value"`
	IsCalled  bool         `json:"is_called"`
}

// PartName is the name of a table's part: data/<schema>.<table>/part-<unit>-<piece>.parquet.
// A chunk of a table is one unit; a unit is written in pieces of bounded size.
func PartName(t schemas.Name, unit, piece int) string {
	return fmt.Sprintf("data/%s/part-%05d-%03d.parquet", tableDir(t), unit, piece)
}

// tableDir is a table's name as one path element: <schema>.<table> with '%' and '/'
// escaped, and '.' too in the schema, so that the first dot always ends the schema. Without
// that, schema "a.b" table "c" and schema "a" table "b.c" would share (and overwrite) their
// files.
func tableDir(t schemas.Name) string {
	return schemaSafe.Replace(t.Schema) + "." + pathSafe.Replace(t.Name)
}

var (
	pathSafe   = strings.NewReplacer("%", "%25", "/", "%2F")
	schemaSafe = strings.NewReplacer("%", "%25", "/", "%2F", ".", "%2E")
)

// UnfinishedError says a prefix holds no manifest: no snapshot, or one that did not finish.
type UnfinishedError struct{ Location string }

func (e *UnfinishedError) Error() string {
	return fmt.Sprintf("%s holds no finished snapshot (no %s)", e.Location, ManifestName)
}

// ReadManifest reads and checks the manifest of the snapshot in s. Its signature, if any, is
// not checked: ReadSignedManifest does that.
func ReadManifest(ctx context.Context, s store.Store) (*Manifest, error) {
	return ReadSignedManifest(ctx, s, nil)
}

// ReadSignedManifest reads and checks the manifest of the snapshot in s and, with a key,
// verifies its signature over the very bytes it then decodes: an unsigned snapshot, or one
// whose signature does not verify, is a *SignatureError.
func ReadSignedManifest(ctx context.Context, s store.Store, key *SignKey) (*Manifest, error) {
	r, err := s.Open(ctx, ManifestName)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &UnfinishedError{Location: s.String()}
	}
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(r, maxManifestBytes+1))
	r.Close()
	if err != nil {
		return nil, fmt.Errorf("read %s/%s: %w", s, ManifestName, err)
	}
	if len(data) > maxManifestBytes {
		return nil, fmt.Errorf("%s/%s: larger than %d bytes: not an understudy manifest", s, ManifestName, maxManifestBytes)
	}
	if key != nil {
		sig, err := ReadSignature(ctx, s)
		if err != nil {
			return nil, err
		}
		if err := key.verify(s.String(), data, sig); err != nil {
			return nil, err
		}
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s/%s: %w", s, ManifestName, err)
	}
	if m.Format != Format {
		return nil, fmt.Errorf("%s/%s: not an understudy snapshot (format %q)", s, ManifestName, m.Format)
	}
	if m.Version > Version {
		return nil, fmt.Errorf("%s/%s: snapshot format version %d is newer than this understudy reads (%d): upgrade understudy", s, ManifestName, m.Version, Version)
	}
	if m.Catalog == nil {
		return nil, fmt.Errorf("%s/%s: no catalog", s, ManifestName)
	}
	return &m, nil
}

// WriteManifest writes m as the snapshot's manifest: the last file of a snapshot, whose
// presence means "finished". With a key the signature is written first, so that a snapshot
// never looks finished before it is signed; without one, a signature left by an earlier
// attempt is removed first, so that it cannot stand beside a manifest it does not sign.
func WriteManifest(ctx context.Context, s store.Store, m *Manifest, key *SignKey) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if key != nil {
		sig, _ := json.MarshalIndent(Signature{Algorithm: signAlgorithm, KeyFingerprint: key.Fingerprint(),
			MAC: hex.EncodeToString(key.mac(data))}, "", "  ")
		if _, err := WriteFile(ctx, s, SignatureName, sig); err != nil {
			return err
		}
	} else if err := s.Delete(ctx, SignatureName); err != nil {
		return err
	}
	_, err = WriteFile(ctx, s, ManifestName, data)
	return err
}

// WriteFile writes a small file whole and returns its checksum entry.
func WriteFile(ctx context.Context, s store.Store, name string, data []byte) (File, error) {
	w, err := s.Create(ctx, name)
	if err != nil {
		return File{}, err
	}
	if _, err := w.Write(data); err != nil {
		w.Abort()
		return File{}, fmt.Errorf("write %s/%s: %w", s, name, err)
	}
	if err := w.Close(); err != nil {
		return File{}, fmt.Errorf("write %s/%s: %w", s, name, err)
	}
	sum := sha256.Sum256(data)
	return File{Path: name, Bytes: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}, nil
}

// CorruptError says a file of the snapshot is missing or not what the manifest recorded.
type CorruptError struct {
	Location, Path, Problem string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("%s/%s: %s", e.Location, e.Path, e.Problem)
}

// Missing says the file is not in the store at all (rather than not what was recorded).
func (e *CorruptError) Missing() bool { return e.Problem == "missing" }

// ReadFile reads a file of the snapshot whole (a schema file or one part: their size is
// bounded) and checks its size and SHA-256 against f.
func ReadFile(ctx context.Context, s store.Store, f File) ([]byte, error) {
	r, err := s.Open(ctx, f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &CorruptError{s.String(), f.Path, "missing"}
	}
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if f.Bytes < 0 {
		return nil, &CorruptError{s.String(), f.Path, fmt.Sprintf("the manifest says %d bytes", f.Bytes)}
	}
	h := sha256.New()
	// One buffer of the recorded size (and bytes.MinRead to spare, so it never grows) — up to
	// maxPrealloc: the size comes from the manifest, and a wrong one must not reserve memory
	// the file does not have. What is read stays bounded by the recorded size (+1, to see a
	// longer file).
	b := bytes.NewBuffer(make([]byte, 0, min(f.Bytes, maxPrealloc)+bytes.MinRead+1))
	_, err = b.ReadFrom(io.TeeReader(io.LimitReader(r, f.Bytes+1), h))
	buf := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("read %s/%s: %w", s, f.Path, err)
	}
	if int64(len(buf)) > f.Bytes { // read only one byte past the recorded size
		return nil, &CorruptError{s.String(), f.Path, fmt.Sprintf("longer than the %d bytes the manifest says", f.Bytes)}
	}
	if int64(len(buf)) != f.Bytes {
		return nil, &CorruptError{s.String(), f.Path, fmt.Sprintf("%d bytes, the manifest says %d", len(buf), f.Bytes)}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
		return nil, &CorruptError{s.String(), f.Path, "checksum mismatch (sha256 " + got + ", the manifest says " + f.SHA256 + ")"}
	}
	return buf, nil
}

// maxPrealloc bounds the buffer ReadFile reserves before reading: more than a part written
// with the default bounds (parquetpart.DefaultPartBytes, plus a row group and a footer).
const maxPrealloc = 256 << 20

// UnitRecord notes a finished unit (chunk) while a snapshot is written, so that --resume
// can skip it: one small JSON object per unit under _progress/. A unit is skipped only when
// the new plan cuts the table the same way (same Of, FromPage and ToPage) and the run uses
// the same key.
type UnitRecord struct {
	// Run is the id of the run that wrote the unit (its RunRecord's): --resume keeps only
	// units of runs whose record it checked.
	Run      string       `json:"run,omitempty"`
	Started  time.Time    `json:"started"`
	Table    schemas.Name `json:"table"`
	Seq      int          `json:"seq"`
	Of       int          `json:"of"`
	FromPage int64        `json:"from_page"`
	ToPage   int64        `json:"to_page"`
	// KeyFingerprint is the manifest's key_fingerprint of the run that wrote the unit: a unit
	// anonymized with another key is not kept, since its values (and the references between
	// tables) would not match the others'.
	KeyFingerprint string `json:"key_fingerprint,omitempty"`
	// Plan is the table plan's fingerprint (columns, rules and their parameters): a unit
	// written under other rules, or before the table changed, is not kept either.
	Plan  string `json:"plan"`
	Parts []Part `json:"parts"`
}

func unitRecordName(t schemas.Name, seq int) string {
	return fmt.Sprintf("%s%s/unit-%05d.json", progressDir, tableDir(t), seq)
}

// RecordUnit notes a finished unit.
func RecordUnit(ctx context.Context, s store.Store, u UnitRecord) error {
	data, err := json.Marshal(u)
	if err != nil {
		return err
	}
	_, err = WriteFile(ctx, s, unitRecordName(u.Table, u.Seq), data)
	return err
}

// Entry is one finished snapshot found under a location.
type Entry struct {
	Prefix    string // relative to the listed location ("" for the location itself)
	Manifest  *Manifest
	Signature *Signature // nil when unsigned; not verified
}

// List finds the finished snapshots under s: every prefix with a manifest. Unfinished ones
// (no manifest) are not listed. open returns the store of a prefix under s.
func List(ctx context.Context, s store.Store, open func(prefix string) (store.Store, error)) ([]Entry, error) {
	objs, err := s.List(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, o := range objs {
		if o.Name != ManifestName && !strings.HasSuffix(o.Name, "/"+ManifestName) {
			continue
		}
		prefix := strings.TrimSuffix(path.Dir(o.Name), ".")
		sub, err := open(prefix)
		if err != nil {
			return nil, err
		}
		m, err := ReadManifest(ctx, sub)
		if err != nil {
			return nil, err
		}
		sig, err := ReadSignature(ctx, sub)
		if err != nil {
			return nil, err
		}
		out = append(out, Entry{Prefix: prefix, Manifest: m, Signature: sig})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Manifest.Created.Before(out[j].Manifest.Created) })
	return out, nil
}
