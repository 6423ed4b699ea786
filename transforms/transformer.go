package transforms

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// Transformer rewrites one column of a batch.
type Transformer interface {
	// Transform returns the new values of column col of rec: an array of the same Arrow type
	// and length as rec.Column(col). The caller owns and releases the result; rec is not
	// released. It is safe for concurrent use: workers share one Transformer.
	Transform(rec arrow.Record, col int, mem memory.Allocator) (arrow.Array, error)
}

// NativeInput is implemented by transformers that need their column decoded to its native
// Arrow type (integers, floats, numeric as text, dates, timestamps) rather than carried as
// raw PostgreSQL wire bytes, the default. Text columns read the same either way.
type NativeInput interface {
	NativeInput() bool
}

// UniqueSafe is implemented by transformers whose output is collision-free for distinct
// inputs (a bijection, or a keyed hash of at least 96 bits), so a UNIQUE or primary key
// column keeps its constraint. plan warns about a rule on a unique column without it.
type UniqueSafe interface {
	UniqueSafe() bool
}

// shapeNotUnique refuses a unique column for a rule that can map two values to one.
func shapeNotUnique(name string, c Column, instead string) error {
	if !c.Unique {
		return nil
	}
	return fmt.Errorf("%s can give two rows the same value, and column %s is unique; %s", name, c.Name, instead)
}

// Passthrough is implemented by transformers that, as configured, may copy some values to
// the output as they are (a dictionary whose default keeps the values its map does not
// list). It is the rule's own word on whether it rewrites every value: the PII guard does
// not count a rule that passes values through as covering a column that looks personal.
// A rule without it rewrites every value it is given (NULLs aside).
type Passthrough interface {
	// Passthrough says which values the rule copies as they are and how to make it rewrite
	// them, naming the rule ("dictionary copies …"), or "" when it rewrites every value.
	Passthrough() string
}

// RowReader is implemented by transformers that read columns of the row besides their own (a
// template built from the faked first and last name); a transformer that reads another column
// must implement it. The pipeline runs it after the rules on the columns it reads, and hands
// it the batch with those columns already transformed and in the representation their column
// set-up promised.
type RowReader interface {
	// Reads names the columns, of the rule's table, that Transform reads from rec.
	Reads() []string
}

// Column is what a transformer is told about the column it rewrites.
type Column struct {
	Table    string // schema.table
	Name     string
	TypeName string // e.g. "character varying(40)"
	BaseOID  uint32 // the type, or a domain's base type
	Typmod   int32
	NotNull  bool
	Unique   bool
}

// String names the column as schema.table.column.
func (c Column) String() string { return c.Table + "." + c.Name }

// Params decodes a rule's parameters into a transformer's typed options.
type Params interface {
	// Decode fills v (a pointer to a struct with yaml tags); an unknown key is an error.
	Decode(v any) error
}

// Env is everything a transformer's constructor may use.
type Env struct {
	Column Column
	Params Params
	// Key is the secret that deterministic transformers are keyed with; nil if none was given.
	Key *Key
	// Literal returns the binary wire form, in the column's type, of a value written as text
	// in the config. The server checks it, so any type a column can have works.
	Literal func(text string) ([]byte, error)
	// Registry is the registry the rule came from, for rules made of other rules (json
	// paths, array elements).
	Registry *Registry
	// PathColumns, for a json rule whose paths follow keys (references with a path), gives
	// for such a path the key column: the path's rule is built for that column, so a value
	// inside a document maps exactly as the key does.
	PathColumns map[string]Column
}

// Factory builds a transformer for one column, or says why the rule does not fit it.
type Factory func(env Env) (Transformer, error)

// Entry describes one transformer in a registry.
type Entry struct {
	Name    string
	Summary string // one line, for the reference and for plan
	Example string // a config snippet
	New     Factory
}

// Registry maps rule names to transformers. It is a value, so a test can build its own.
type Registry struct {
	entries map[string]Entry
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{entries: map[string]Entry{}} }

// Register adds e; a duplicate name is a programming error and panics.
func (r *Registry) Register(e Entry) {
	if _, dup := r.entries[e.Name]; dup {
		panic("transforms: duplicate transformer " + e.Name)
	}
	r.entries[e.Name] = e
}

// Lookup finds a transformer by name.
func (r *Registry) Lookup(name string) (Entry, bool) {
	e, ok := r.entries[name]
	return e, ok
}

// Names lists the registered names, sorted.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.entries))
	for n := range r.entries {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// UnknownError says a rule names no registered transformer.
type UnknownError struct {
	Name    string
	Suggest string
}

func (e *UnknownError) Error() string {
	if e.Suggest != "" {
		return fmt.Sprintf("unknown transformer %q (did you mean %q?)", e.Name, e.Suggest)
	}
	return fmt.Sprintf("unknown transformer %q", e.Name)
}

// New builds the named transformer for env.
func (r *Registry) New(name string, env Env) (Transformer, error) {
	e, ok := r.entries[name]
	if !ok {
		return nil, &UnknownError{Name: name, Suggest: Nearest(name, r.Names())}
	}
	if env.Registry == nil {
		env.Registry = r
	}
	return e.New(env)
}

// Nearest returns the candidate closest to s by edit distance, if it is close enough to be
// a likely typo, else "".
func Nearest(s string, candidates []string) string {
	best, bestD := "", len(s)/2+2
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// errUnsupportedArray is returned for an Arrow type a byte-oriented transformer cannot read.
var errUnsupportedArray = errors.New("unsupported Arrow type")

// byteColumn gives byte-level access to a Binary (raw PostgreSQL wire bytes) or String column.
type byteColumn struct {
	bin *array.Binary
	str *array.String
}

func asBytes(a arrow.Array) (byteColumn, error) {
	switch a := a.(type) {
	case *array.Binary:
		return byteColumn{bin: a}, nil
	case *array.String:
		return byteColumn{str: a}, nil
	}
	return byteColumn{}, fmt.Errorf("%w %s", errUnsupportedArray, a.DataType())
}

func (c byteColumn) value(i int) []byte {
	if c.bin != nil {
		return c.bin.Value(i)
	}
	// A sub-slice of the array's data, not []byte(Value(i)), which copies every value.
	offs := c.str.ValueOffsets()
	return c.str.ValueBytes()[offs[i]-offs[0] : offs[i+1]-offs[0]]
}

// byteBuilder builds an array of the same Arrow type as the input column.
type byteBuilder struct {
	bin *array.BinaryBuilder
}

func newByteBuilder(mem memory.Allocator, dt arrow.DataType, n, dataBytes int) byteBuilder {
	b := array.NewBinaryBuilder(mem, dt.(arrow.BinaryDataType))
	b.Reserve(n)
	b.ReserveData(dataBytes)
	return byteBuilder{bin: b}
}

func (b byteBuilder) append(v []byte) { b.bin.Append(v) }
func (b byteBuilder) appendNull()     { b.bin.AppendNull() }
func (b byteBuilder) finish() arrow.Array {
	defer b.bin.Release()
	a := b.bin.NewArray()
	if a.DataType().ID() == arrow.BINARY {
		return a
	}
	// The builder makes Binary arrays; rewrap the same buffers as the input's type (String).
	defer a.Release()
	return array.MakeFromData(a.Data())
}
