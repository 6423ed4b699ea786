package schemas

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSplitEntriesCutsPgDumpOutputAtHeaders(t *testing.T) {
	post := `--
-- PostgreSQL database dump
--

\restrict abc123

SET statement_timeout = 0;
SELECT pg_catalog.set_config('search_path', '', false);

--
-- Name: actor actor_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.actor
    ADD CONSTRAINT actor_pkey PRIMARY KEY (actor_id);


--
-- Name: idx_last_name; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_last_name ON public.actor USING btree (last_name);


--
-- Name: address address_city_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.address
    ADD CONSTRAINT address_city_id_fkey FOREIGN KEY (city_id) REFERENCES public.city(city_id);


--
-- PostgreSQL database dump complete
--

\unrestrict abc123
`
	pre, entries := splitEntries(stripMeta(post))
	if !strings.Contains(pre, "SET statement_timeout = 0;") || strings.Contains(pre, `\restrict`) {
		t.Errorf("preamble: %q", pre)
	}
	want := []Entry{
		{Name: Name{"public", "actor actor_pkey"}, Type: "CONSTRAINT", SQL: "ALTER TABLE ONLY public.actor\n    ADD CONSTRAINT actor_pkey PRIMARY KEY (actor_id);"},
		{Name: Name{"public", "idx_last_name"}, Type: "INDEX", SQL: "CREATE INDEX idx_last_name ON public.actor USING btree (last_name);"},
		{Name: Name{"public", "address address_city_id_fkey"}, Type: "FK CONSTRAINT", SQL: "ALTER TABLE ONLY public.address\n    ADD CONSTRAINT address_city_id_fkey FOREIGN KEY (city_id) REFERENCES public.city(city_id);"},
	}
	if len(entries) != len(want) {
		t.Fatalf("%d entries, want %d: %+v", len(entries), len(want), entries)
	}
	for i, w := range want {
		e := entries[i]
		if e.Name != w.Name || e.Type != w.Type || e.SQL != w.SQL {
			t.Errorf("entry %d = %+v\nwant %+v", i, e, w)
		}
		if strings.Contains(e.SQL, `\unrestrict`) {
			t.Errorf("entry %d kept a psql meta-command", i)
		}
	}
	// A snapshot stores post-data as PostDataSQL writes it; read back, it is the same.
	ddl := &DDL{Preamble: pre, PostData: entries}
	back := ParseDDL("CREATE TABLE t ();\n", ddl.PostDataSQL())
	if back.Preamble != pre || len(back.PostData) != len(entries) || back.PreData != "CREATE TABLE t ();\n" {
		t.Fatalf("read back preamble %q, %d entries", back.Preamble, len(back.PostData))
	}
	for i, e := range entries {
		if b := back.PostData[i]; b.Name != e.Name || b.Type != e.Type || b.SQL != e.SQL || b.Header != e.Header {
			t.Errorf("entry %d read back as %+v, want %+v", i, b, e)
		}
	}
}

// A pg_dump older than the server cannot be had from the real server here, so a script
// that reports an old version stands in for one.
func TestPgDumpVersionChecks(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "pg_dump")
	if err := os.WriteFile(old, []byte("#!/bin/sh\necho 'pg_dump (PostgreSQL) 13.4'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	d, err := FindPgDump(old)
	if err != nil || d.Major != 13 {
		t.Fatalf("FindPgDump = %+v, %v", d, err)
	}
	err = d.CheckServer(150004)
	var tooOld *PgDumpTooOldError
	if !errors.As(err, &tooOld) || !strings.Contains(err.Error(), "version 13 but the source server is version 15") {
		t.Errorf("CheckServer: %v", err)
	}
	if err := d.CheckServer(130010); err != nil {
		t.Errorf("same major refused: %v", err)
	}
	if _, err := FindPgDump(filepath.Join(dir, "missing")); !errors.Is(err, ErrPgDumpMissing) {
		t.Errorf("missing pg_dump: %v", err)
	}
}
