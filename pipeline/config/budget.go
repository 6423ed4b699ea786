package config

import (
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Budget is the rehearse command's budget section: what a rehearsal may cost before it
// fails. A zero value means no limit; the command's flags win over it.
type Budget struct {
	MaxLockWait   time.Duration // the longest a traffic query may wait for a lock
	MaxStatement  time.Duration // one statement's time
	MaxMigration  time.Duration // one migration's time
	NoRewriteOver int64         // bytes: no table or index bigger than this may be rewritten
	// Lines holds the line of each key given (max_lock_wait, …), for messages.
	Lines map[string]int
}

var budgetKeys = []string{"max_lock_wait", "max_statement", "max_migration", "no_rewrite_over"}

func parseBudget(cfg *Config, v *yaml.Node, fail failFunc) error {
	if v.Kind != yaml.MappingNode {
		return fail(v, "budget", "must be a mapping of %s", strings.Join(budgetKeys, ", "))
	}
	b := &Budget{Lines: map[string]int{}}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		path := "budget." + k.Value
		var dst *time.Duration
		switch k.Value {
		case "max_lock_wait":
			dst = &b.MaxLockWait
		case "max_statement":
			dst = &b.MaxStatement
		case "max_migration":
			dst = &b.MaxMigration
		case "no_rewrite_over":
			n, err := ParseBytes(val.Value)
			if err != nil || val.Kind != yaml.ScalarNode {
				return fail(val, path, "%v", err)
			}
			b.NoRewriteOver = n
		default:
			return fail(k, "budget", "%s", unknownKey(k.Value, budgetKeys))
		}
		if dst != nil {
			d, err := time.ParseDuration(val.Value)
			if err != nil || val.Kind != yaml.ScalarNode || d <= 0 {
				return fail(val, path, "must be a duration like 30s or 5m, not %q", val.Value)
			}
			*dst = d
		}
		b.Lines[k.Value] = k.Line
	}
	cfg.Budget = b
	return nil
}

// ParseBytes reads a size as a person writes it: 4096, 500MB, 1.5GiB, 10G (K, M, G, T
// alone are binary units).
func ParseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	num := strings.TrimRightFunc(t, func(r rune) bool { return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r == ' ' })
	unit := strings.ToUpper(strings.TrimSpace(t[len(num):]))
	var f float64
	if _, err := fmt.Sscanf(num, "%g", &f); err != nil || f < 0 {
		return 0, fmt.Errorf("size %q: want a number and a unit, like 500MB or 2GiB", s)
	}
	mult := map[string]float64{"": 1, "B": 1, "K": 1 << 10, "KB": 1e3, "KIB": 1 << 10, "M": 1 << 20, "MB": 1e6, "MIB": 1 << 20,
		"G": 1 << 30, "GB": 1e9, "GIB": 1 << 30, "T": 1 << 40, "TB": 1e12, "TIB": 1 << 40}
	m, ok := mult[unit]
	if !ok {
		return 0, fmt.Errorf("size %q: unknown unit %q (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)", s, unit)
	}
	return int64(f * m), nil
}
