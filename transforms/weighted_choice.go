package transforms

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"gopkg.in/yaml.v3"
)

// weightedChoice replaces each text value with one of a fixed list, picked by a keyed draw
// with the given weights: the same input always gets the same choice.
type weightedChoice struct {
	subkey []byte
	values [][]byte
	cum    []float64 // running totals of the weights
}

var _ TextRule = (*weightedChoice)(nil)

type weightedChoiceParams struct {
	Choices yaml.Node `yaml:"choices"`
	Domain  string    `yaml:"domain"`
}

func newWeightedChoice(env Env) (Transformer, error) {
	var p weightedChoiceParams
	if err := env.Params.Decode(&p); err != nil {
		return nil, err
	}
	c := env.Column
	if !IsTextType(c) {
		return nil, fmt.Errorf("weighted_choice writes text; column type %s does not take it", c.TypeName)
	}
	t := &weightedChoice{}
	n := &p.Choices
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		return nil, errors.New(`weighted_choice needs choices, a mapping of value to weight, e.g. {transform: weighted_choice, choices: {free: 80, pro: 15, enterprise: 5}}`)
	}
	total := 0.0
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, w := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Tag == "!!null" {
			return nil, fmt.Errorf("choices: line %d: a choice is a text value (NULL is not one; use null on the column)", k.Line)
		}
		if seen[k.Value] {
			return nil, fmt.Errorf("choices: line %d: %q is listed twice", k.Line, k.Value)
		}
		seen[k.Value] = true
		f, err := strconv.ParseFloat(w.Value, 64)
		if w.Kind != yaml.ScalarNode || err != nil || !(f > 0) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("choices: line %d: the weight of %q must be a positive number", w.Line, k.Value)
		}
		total += f
		t.values = append(t.values, []byte(k.Value))
		t.cum = append(t.cum, total)
	}
	if err := shapeNotUnique("weighted_choice", c, "it picks among a few values; use hash or a rule that keeps values unique"); err != nil {
		return nil, err
	}
	var err error
	if t.subkey, err = shapeKeyed("weighted_choice", env, p.Domain); err != nil {
		return nil, err
	}
	return TextBatch(t, c), nil
}

func (t *weightedChoice) Subkey() []byte { return t.subkey }

func (t *weightedChoice) Text(k *Keyed, dst, _ []byte) ([]byte, error) {
	x := k.Float64() * t.cum[len(t.cum)-1]
	lo, hi := 0, len(t.cum)-1 // the first running total above x
	for lo < hi {
		mid := (lo + hi) / 2
		if t.cum[mid] > x {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return append(dst, t.values[lo]...), nil
}
