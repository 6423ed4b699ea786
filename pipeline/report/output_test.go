package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
)

// svgElement is what the test reads of each plot.
type svgElement struct {
	Class string `xml:"class,attr"`
	FK    string `xml:"data-fk,attr"`
	Width string `xml:"width,attr"`
	Texts []struct {
		Body string `xml:",chardata"`
	} `xml:"text"`
}

func TestReportOutputs(t *testing.T) {
	srcDSN := newShop(t)
	src := collectDSN(t, srcDSN, Options{})
	dstDSN := newShop(t)
	duplicate(t, dstDSN, src, map[string]bool{"public.products": true})
	conn := pgtest.Connect(t, dstDSN)
	pgtest.Exec(t, conn, "DELETE FROM order_items WHERE order_id % 3 = 0")
	dst := collectDSN(t, dstDSN, Options{})
	r := New(src, dst, CompareOptions{Scale: 2, Shared: []string{"public.products"}})
	if r.Failed() == 0 {
		t.Fatal("no failed findings: the test needs some to see them highlighted")
	}

	t.Run("html", func(t *testing.T) {
		var buf bytes.Buffer
		if err := WriteHTML(&buf, r); err != nil {
			t.Fatal(err)
		}
		if dir := os.Getenv("UNDERSTUDY_REPORT_HTML"); dir != "" {
			os.WriteFile(dir, buf.Bytes(), 0o644) // to look at it in a browser
		}
		page := buf.String()
		for _, bad := range []string{"<script", "<link", "src=\"http", "href=\"http"} {
			if strings.Contains(page, bad) {
				t.Errorf("page is not self-contained: holds %q", bad)
			}
		}
		// The page is well-formed XML (so also well-formed HTML): parse all of it strictly
		// and collect the SVG plots.
		dec := xml.NewDecoder(strings.NewReader(page))
		dec.Strict = true
		var svgs []svgElement
		failRows := 0
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("page is not well-formed: %v", err)
			}
			se, ok := tok.(xml.StartElement)
			if !ok {
				continue
			}
			switch se.Name.Local {
			case "svg":
				var s svgElement
				if err := dec.DecodeElement(&s, &se); err != nil {
					t.Fatalf("svg: %v", err)
				}
				svgs = append(svgs, s)
			case "tr":
				for _, a := range se.Attr {
					if a.Name.Local == "class" && a.Value == "fail" {
						failRows++
					}
				}
			}
		}
		fks := map[string]bool{}
		for _, tab := range src.Tables {
			for _, fk := range tab.ForeignKeys {
				fks[fk.Name] = true
			}
		}
		charts := map[string]int{}
		kinds := map[string]int{}
		for _, s := range svgs {
			kinds[s.Class]++
			if s.Class != "fanout" {
				continue
			}
			charts[s.FK]++
			// Legible: a real size, every bucket labelled, an axis title and a legend.
			var texts []string
			for _, tx := range s.Texts {
				texts = append(texts, tx.Body)
			}
			all := strings.Join(texts, "|")
			for _, b := range FanoutBuckets {
				if !strings.Contains("|"+all+"|", "|"+b.Label+"|") {
					t.Errorf("fan-out chart %s: no label %q in %q", s.FK, b.Label, all)
				}
			}
			for _, want := range []string{"children per parent row", "source", "target"} {
				if !strings.Contains(all, want) {
					t.Errorf("fan-out chart %s: no %q", s.FK, want)
				}
			}
			if s.Width != "440" {
				t.Errorf("fan-out chart %s is %s wide", s.FK, s.Width)
			}
		}
		if len(charts) != len(fks) || len(fks) != 6 {
			t.Errorf("fan-out charts %v, want one per foreign key %v", charts, fks)
		}
		for fk, n := range charts {
			if n != 1 || !fks[fk] {
				t.Errorf("fan-out chart %s: %d", fk, n)
			}
		}
		if kinds["quantiles"] == 0 || kinds["topvalues"] == 0 || kinds["nulls"] == 0 {
			t.Errorf("plots by kind: %v", kinds)
		}
		if failRows == 0 || !strings.Contains(page, "fk fail") {
			t.Errorf("failed checks not highlighted (%d rows)", failRows)
		}
	})

	t.Run("json", func(t *testing.T) {
		var buf bytes.Buffer
		if err := WriteJSON(&buf, r); err != nil {
			t.Fatal(err)
		}
		var back struct {
			Report
			Failed int `json:"failed"`
		}
		if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
			t.Fatal(err)
		}
		if back.Failed != r.Failed() || len(back.Findings) != len(r.Findings) || len(back.Source.Tables) != len(src.Tables) {
			t.Errorf("json: %d failed, %d findings, %d tables", back.Failed, len(back.Findings), len(back.Source.Tables))
		}
	})

	t.Run("text", func(t *testing.T) {
		var buf bytes.Buffer
		if err := WriteText(&buf, r); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		t.Log("\n" + out)
		for _, want := range []string{"== public.order_items  rows", "FAILED (", "order_items_order_id_fkey", "fanout_mean"} {
			if !strings.Contains(out, want) {
				t.Errorf("text has no %q", want)
			}
		}
	})
}
