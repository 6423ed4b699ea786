package subset

import (
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5/pgtype"
)

// TID is a heap tuple id packed as page<<16 | item, so that sorting TIDs sorts rows in heap
// order. A TID names a row only within one snapshot: an update or VACUUM FULL moves it.
type TID uint64

func tidOf(t pgtype.TID) TID { return TID(t.BlockNumber)<<16 | TID(t.OffsetNumber) }

// Page returns the heap page number.
func (t TID) Page() uint32 { return uint32(t >> 16) }

// Item returns the line pointer within the page.
func (t TID) Item() uint16 { return uint16(t) }

// TIDCondition renders ctid = ANY('{"(p,i)",...}'::tid[]), a condition that selects exactly
// those rows (with a TID scan), for COPY (SELECT ... WHERE ...). No TIDs select no row.
func TIDCondition(tids []TID) string {
	b := make([]byte, 0, 16+len(tids)*14)
	b = append(b, "ctid = ANY('"...)
	b = appendTIDArray(b, tids)
	return string(append(b, "'::tid[])"...))
}

// appendTIDArray appends the text form of a tid[]: {"(p,i)",...}. Queries take TIDs as this
// text (cast with $1::text::tid[]): it measured twice as fast to send as pgx's binary
// encoding of []pgtype.TID, and the server still plans a TID scan.
func appendTIDArray(b []byte, tids []TID) []byte {
	b = append(b, '{')
	for i, t := range tids {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `"(`...)
		b = strconv.AppendUint(b, uint64(t.Page()), 10)
		b = append(b, ',')
		b = strconv.AppendUint(b, uint64(t.Item()), 10)
		b = append(b, `)"`...)
	}
	return append(b, '}')
}

// TID sets are sorted slices without duplicates: 8 bytes a row, and a merge or a binary
// search instead of a hash table per row.

// sortUnique makes ts a set, in place.
func sortUnique(ts []TID) []TID {
	slices.Sort(ts)
	return slices.Compact(ts)
}

// union returns the set a ∪ b and the members of b that were not in a.
func union(a, b []TID) (all, added []TID) {
	if len(b) == 0 {
		return a, nil
	}
	all = make([]TID, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i] < b[j]):
			all = append(all, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			all = append(all, b[j])
			added = append(added, b[j])
			j++
		default:
			all = append(all, a[i])
			i, j = i+1, j+1
		}
	}
	return all, added
}

// subtract returns the set a − b.
func subtract(a, b []TID) []TID {
	out := make([]TID, 0, len(a))
	j := 0
	for _, t := range a {
		for j < len(b) && b[j] < t {
			j++
		}
		if j == len(b) || b[j] != t {
			out = append(out, t)
		}
	}
	return out
}

func contains(set []TID, t TID) bool {
	_, ok := slices.BinarySearch(set, t)
	return ok
}
