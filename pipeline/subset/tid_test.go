package subset

import (
	"slices"
	"testing"
)

func TestTIDSets(t *testing.T) {
	a := sortUnique([]TID{9, 3, 3, 1 << 16, 7})
	if want := []TID{3, 7, 9, 1 << 16}; !slices.Equal(a, want) {
		t.Fatalf("sortUnique: %v, want %v", a, want)
	}
	all, added := union(a, []TID{1, 7, 10, 1<<16 + 1})
	if want := []TID{1, 3, 7, 9, 10, 1 << 16, 1<<16 + 1}; !slices.Equal(all, want) {
		t.Errorf("union: %v, want %v", all, want)
	}
	if want := []TID{1, 10, 1<<16 + 1}; !slices.Equal(added, want) {
		t.Errorf("union added: %v, want %v", added, want)
	}
	if got, want := subtract(all, []TID{0, 3, 9, 1<<16 + 1, 1 << 20}), []TID{1, 7, 10, 1 << 16}; !slices.Equal(got, want) {
		t.Errorf("subtract: %v, want %v", got, want)
	}
	if !contains(all, 10) || contains(all, 11) {
		t.Error("contains")
	}
}

func TestTIDCondition(t *testing.T) {
	tid := TID(4294967295)<<16 | 65535
	if tid.Page() != 4294967295 || tid.Item() != 65535 {
		t.Errorf("page %d item %d", tid.Page(), tid.Item())
	}
	if got, want := TIDCondition([]TID{1, 3<<16 | 2, tid}), `ctid = ANY('{"(0,1)","(3,2)","(4294967295,65535)"}'::tid[])`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got, want := TIDCondition(nil), `ctid = ANY('{}'::tid[])`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
