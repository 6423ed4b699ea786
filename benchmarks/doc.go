// Package benchmarks measures how fast understudy sync copies a database, against the two
// things it must beat, on the same machine in the same run:
//
//   - the floor: what moving the bytes costs at all. The schema comes from pg_dump
//     --schema-only; every table is piped as binary COPY bytes from one psql to another
//     (COPY … TO STDOUT | COPY … FROM STDIN, two tables at a time, biggest first); then the
//     indexes and constraints are built by pg_restore --section=post-data -j 2. Nothing is
//     decoded, checked or transformed.
//   - pg_dump -Fd -j 2 followed by pg_restore -j 2: what people use today.
//
// and understudy sync --jobs 2 without rules, and with three rules on the customers table
// (hash, null, constant). Each approach loads a fresh empty database; afterwards, untimed,
// every table's row count must equal the source's, the target must have the source's
// indexes (valid), constraints (validated), triggers, sequences (set as the source's, but
// for the floor) and views, and the rules must show, so a broken run, or one that skipped
// building indexes or constraints, cannot report a fast time. For each approach it records the wall time, the client CPU
// time (user+sys of the approach's processes and their children) and the peak resident set
// of the largest client process, then prints a Markdown table with the ratios to the floor
// and to pg_dump+pg_restore, checks the bars understudy is held to (sync without rules at
// most 1.0× the floor and 0.5× pg_dump+pg_restore, under 256 MiB; with rules at most 1.3×
// the floor) and writes it all to benchmarks/RESULTS.md.
//
// BenchmarkSnapshot measures, on the same source in the same run, what a snapshot costs
// against a dump: pg_dump -Fd -j 2 against understudy snapshot --jobs 2 to a directory
// (wall time and output size), and pg_restore -j 2 of that dump against understudy restore
// --jobs 2 of that snapshot, each into a fresh empty database checked as above; then the
// same snapshot and restore against a bucket on an S3 server (versitygw, scripts/s3.sh),
// named by UNDERSTUDY_BENCH_S3 (the env file scripts/s3.sh writes; without it those steps
// are skipped). It checks the snapshot bars (snapshot at most 1.0× pg_dump's time with a
// smaller output, restore at most 1.0× pg_restore's, both under 256 MiB, on S3 at most 1.3×
// the directory times) and writes benchmarks/RESULTS-snapshot.md.
//
// BenchmarkScale (its own fixture size, UNDERSTUDY_BENCH_SCALE_ROWS, 200000 by default)
// measures understudy sync --scale 10 and snapshot --scale 10 (products shared) against the
// target's raw ingest floor: the same rows, written once to binary COPY files, loaded with
// bare COPY FROM into tables without indexes, two at a time, and then the indexes, keys and
// foreign keys built on them (pg_restore --section=post-data). It checks the scale bars
// (rows/s at least 0.8× the floor's — for sync, which builds them too, the floor's with them —
// and under 256 MiB) and writes benchmarks/RESULTS-scale.md.
//
// The source is the shop fixture (fixtures.CreateShop, seed 1) in database bench_src_<rows>,
// built on the first run and reused while its database comment says it is complete.
//
// Run them with `make bench` (ROWS=2000000 by default; BENCH=Snapshot for one of them),
// which starts a throwaway PostgreSQL unless UNDERSTUDY_BENCH_PG names one and a throwaway
// S3 server unless UNDERSTUDY_BENCH_S3 names one, builds bin/understudy and runs
//
//	go test ./benchmarks -run '^$' -bench . -benchtime 3x -timeout 0
//
// (RUNS=n for another -benchtime nx: n rounds, each running every step once, in turn; each
// step's median run stands, with the largest peak RSS of any of its runs)
// with UNDERSTUDY_BENCH_PG (a superuser postgres:// URL), UNDERSTUDY_BENCH_S3,
// UNDERSTUDY_BENCH_ROWS and UNDERSTUDY_BIN set, and the server's psql, pg_dump and
// pg_restore first on PATH. Without UNDERSTUDY_BENCH_PG the benchmarks are skipped. The server and the clients share the
// machine, as they would on a laptop; the numbers compare approaches, they are not a
// capacity figure for a real deployment.
//
// This package is not a load generator or a test of correctness: the integration tests
// in pipeline/job check that a copy is exact.
package benchmarks
