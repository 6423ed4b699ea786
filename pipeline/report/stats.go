package report

// Stats is what Collect measured in one database, in one snapshot.
type Stats struct {
	Database string `json:"database"` // the database name (never the DSN: it may hold a password)
	// SampleAbove and SampleRows are the sampling settings Collect ran with (see Options).
	SampleAbove int64        `json:"sample_above"`
	SampleRows  int64        `json:"sample_rows"`
	Tables      []TableStats `json:"tables"` // sorted by schema and name
}

// Table returns the table with that schema-qualified name (schema.table), or nil.
func (s *Stats) Table(name string) *TableStats {
	for i := range s.Tables {
		if s.Tables[i].Name == name {
			return &s.Tables[i]
		}
	}
	return nil
}

// TableStats describes one table that stores rows (a plain table or a leaf partition).
type TableStats struct {
	Name   string `json:"name"`             // schema.table
	Parent string `json:"parent,omitempty"` // for a partition, its top partitioned table
	Rows   int64  `json:"rows"`             // exact
	// Sampled says distinct counts and quantiles came from a row sample of SampleRows rows
	// (TABLESAMPLE BERNOULLI), because the table has more than Options.SampleAbove rows.
	Sampled     bool          `json:"sampled,omitempty"`
	SampleRows  int64         `json:"sample_rows,omitempty"`
	Columns     []ColumnStats `json:"columns"`
	ForeignKeys []FKStats     `json:"foreign_keys,omitempty"`
}

// Column returns the named column, or nil.
func (t *TableStats) Column(name string) *ColumnStats {
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return &t.Columns[i]
		}
	}
	return nil
}

// FK returns the named foreign key, or nil.
func (t *TableStats) FK(name string) *FKStats {
	for i := range t.ForeignKeys {
		if t.ForeignKeys[i].Name == name {
			return &t.ForeignKeys[i]
		}
	}
	return nil
}

// Kind says which measures a column gets.
type Kind string

const (
	// KindNumber: int2/4/8, float4/8, numeric (and domains over them): distinct, min, max,
	// quantiles, top values.
	KindNumber Kind = "number"
	// KindDate and KindTimestamp: date, timestamp, timestamptz. Min, max and quantiles are
	// seconds since 1970-01-01 00:00 UTC (a timestamp without time zone read as UTC).
	KindDate      Kind = "date"
	KindTimestamp Kind = "timestamp"
	// KindDiscrete: types with equality but no useful numeric order (text, bool, enum, uuid,
	// ...): distinct and top values.
	KindDiscrete Kind = "discrete"
	// KindOpaque: types without a sensible equality (json, jsonb, xml, arrays, composites,
	// geometric types, ranges, ...): null fraction only.
	KindOpaque Kind = "opaque"
)

// Ordered reports whether the kind gets min, max and quantiles.
func (k Kind) Ordered() bool { return k == KindNumber || k == KindDate || k == KindTimestamp }

// QuantileLevels are the quantiles Collect measures, in the order of ColumnStats.Quantiles.
var QuantileLevels = []float64{0.05, 0.25, 0.50, 0.75, 0.95}

// QuantileNames name QuantileLevels.
var QuantileNames = []string{"p05", "p25", "p50", "p75", "p95"}

// ColumnStats describes one column.
type ColumnStats struct {
	Name string `json:"name"`
	Type string `json:"type"` // as format_type prints it
	Kind Kind   `json:"kind"`
	// Key: the column is in the primary key or a unique constraint. References: the table a
	// foreign key on this column points at. Compare skips order measures of both under
	// scaling, where copies move keys (docs/scaling.md).
	Key        bool   `json:"key,omitempty"`
	References string `json:"references,omitempty"`

	NonNull      int64   `json:"non_null"`      // exact
	NullFraction float64 `json:"null_fraction"` // exact; 0 for an empty table
	// Distinct is the number of distinct non-null values and DistinctRatio Distinct/NonNull
	// (0 without values); in a sampled table both are of the sample, except for columns with
	// top values, whose counts are exact.
	Distinct      int64   `json:"distinct"`
	DistinctRatio float64 `json:"distinct_ratio"`
	// Min and Max are exact; Quantiles (QuantileLevels, percentile_disc: each is a value that
	// occurs in the column) are of the sample in a sampled table. Infinite and NaN values are
	// left out of all three. Nil for other kinds and columns without finite values. Values
	// beyond 2^53 lose precision (they are compared as float64).
	Min       *float64  `json:"min,omitempty"`
	Max       *float64  `json:"max,omitempty"`
	Quantiles []float64 `json:"quantiles,omitempty"`
	// TopValues lists every value of a low-cardinality column (at most Options.TopValues
	// distinct non-null values), most frequent first; nil for other columns. Exact, also in
	// sampled tables.
	TopValues []ValueFraction `json:"top_values,omitempty"`

	// Personal: the column holds personal data (Options.Personal). Unless Options.ShowValues,
	// its values are not in these stats: no Min, Max or Quantiles, and TopValues only of
	// text-like kinds, each masked (pii.Mask: j***@a***.test), so two values can share a mask.
	// Its Shape is measured instead.
	Personal bool   `json:"personal,omitempty"`
	Masked   bool   `json:"masked,omitempty"` // values left out or masked, as above
	Shape    *Shape `json:"shape,omitempty"`  // of personal columns only
}

// Shape describes the values of a column by their form, never by the values: it is what a
// personal column is judged by, since anonymization changes every value of it but should keep
// its form. All of it is measured on the values' text form, as the server prints them; in a
// sampled table, on the sample.
type Shape struct {
	Values int64 `json:"values"` // non-null values measured
	// BlankFraction: the share of those values that are empty or only white space. Everything
	// below is about the other, non-blank values; without any, it is zero.
	BlankFraction float64 `json:"blank_fraction"`
	LengthMean    float64 `json:"length_mean"` // characters
	// Lengths are the p05 … p95 of the lengths (QuantileLevels).
	Lengths []float64 `json:"lengths,omitempty"`
	// Letters, Digits, Spaces and Other are the shares of all the characters that are letters,
	// digits, white space, and anything else (punctuation, symbols): they sum to 1.
	Letters float64 `json:"letters"`
	Digits  float64 `json:"digits"`
	Spaces  float64 `json:"spaces"`
	Other   float64 `json:"other"`
	// Formats are the most common formats (up to five) with the share of the values in each. A
	// format is the value with every run of characters other than @ + ( ) : / written as one w
	// (cut to 24 characters): an e-mail address is w@w, +1 (555) 010-0199 is +w(w)w, a time
	// w:w:w, a URL w://w/w, a name, a street or a date w.
	Formats []ValueFraction `json:"formats,omitempty"`
}

// Format returns the share of the values in format f (0 if it is not among Formats).
func (s *Shape) Format(f string) float64 {
	for _, v := range s.Formats {
		if v.Value == f {
			return v.Fraction
		}
	}
	return 0
}

// ValueFraction is one value of a low-cardinality column (as text) and the fraction of the
// column's non-null values that hold it.
type ValueFraction struct {
	Value    string  `json:"value"`
	Count    int64   `json:"count"`
	Fraction float64 `json:"fraction"`
}

// Bucket is one bar of a fan-out histogram: the fraction of parent rows that have between
// Min and Max children (Max -1: no upper bound).
type Bucket struct {
	Label    string  `json:"label"`
	Min      int64   `json:"min"`
	Max      int64   `json:"max"`
	Fraction float64 `json:"fraction"`
}

// FanoutBuckets are the histogram's buckets, in order.
var FanoutBuckets = []Bucket{
	{Label: "0", Min: 0, Max: 0}, {Label: "1", Min: 1, Max: 1}, {Label: "2", Min: 2, Max: 2},
	{Label: "3–5", Min: 3, Max: 5}, {Label: "6–10", Min: 6, Max: 10}, {Label: "11–20", Min: 11, Max: 20},
	{Label: "21–50", Min: 21, Max: 50}, {Label: "51+", Min: 51, Max: -1},
}

// FKStats is the fan-out of one foreign key: how many child rows (rows of the table holding
// the key, all key columns non-null) each parent row has, parents without children included.
// Exact, also for sampled tables.
type FKStats struct {
	Name       string   `json:"name"`
	Columns    []string `json:"columns"`
	Ref        string   `json:"ref"` // the parent table, schema.table
	RefColumns []string `json:"ref_columns"`
	Parents    int64    `json:"parents"`  // rows of the parent table
	Children   int64    `json:"children"` // child rows that reference an existing parent
	Mean       float64  `json:"mean"`     // Children / Parents; 0 without parents
	Histogram  []Bucket `json:"histogram"`
}
