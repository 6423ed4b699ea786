package pipeline

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"

	"github.com/understudy-dev/understudy/pipeline/subset"
)

// SubsetUnitRows bounds the rows of one unit of a subsetted table: its COPY names them by
// ctid, about 12 bytes of SQL a row.
const SubsetUnitRows = 100_000

// ApplySubset restricts the plan's tables to the rows res keeps (see package subset): each
// restricted table is cut into units of at most SubsetUnitRows kept rows, read by ctid in the
// source's snapshot. Tables res does not restrict keep their page-range units.
func (p *Plan) ApplySubset(res *subset.Result) {
	if res == nil {
		return
	}
	old := map[*TablePlan][]Unit{}
	for _, u := range p.Units {
		old[u.Table] = append(old[u.Table], u)
	}
	var units []Unit // in the plan's order of tables
	for _, tp := range p.Tables {
		tids, restricted := res.Rows(tp.Name)
		if !restricted {
			units = append(units, old[tp]...)
			continue
		}
		tp.Subset = true
		tp.KeptRows = int64(len(tids))
		h := sha256.New()
		var b [8]byte
		for _, t := range tids {
			binary.BigEndian.PutUint64(b[:], uint64(t))
			h.Write(b[:])
		}
		tp.keptDigest = hex.EncodeToString(h.Sum(nil)[:12])
		n := max((len(tids)+SubsetUnitRows-1)/SubsetUnitRows, 1)
		tp.Units = n
		for i := 0; i < n; i++ {
			chunk := tids[min(i*SubsetUnitRows, len(tids)):min((i+1)*SubsetUnitRows, len(tids))]
			units = append(units, Unit{Table: tp, Seq: i, Of: n, TIDs: chunk, Restricted: true})
		}
	}
	p.Units = units
}
