package rehearse

import (
	"math"
	"time"
)

// histogram keeps latencies in log-spaced buckets (5% wide, 1 µs to ~20 min), so a
// statement's traffic costs the same memory whether it saw ten queries or ten million.
type histogram struct {
	counts [histBuckets]int64
	n      int64
	max    time.Duration
}

const (
	histBuckets = 440
	histBase    = 1.05
)

func bucketOf(d time.Duration) int {
	us := float64(d) / float64(time.Microsecond)
	if us <= 1 {
		return 0
	}
	b := int(math.Log(us) / math.Log(histBase))
	return min(b, histBuckets-1)
}

func (h *histogram) add(d time.Duration) {
	h.counts[bucketOf(d)]++
	h.n++
	h.max = max(h.max, d)
}

// quantile returns the upper edge of the bucket holding quantile q, never above the maximum.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	want := int64(math.Ceil(q * float64(h.n)))
	var seen int64
	for b, c := range h.counts {
		seen += c
		if seen >= want {
			d := time.Duration(math.Pow(histBase, float64(b+1)) * float64(time.Microsecond))
			return min(d, h.max)
		}
	}
	return h.max
}
