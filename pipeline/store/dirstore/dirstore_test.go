package dirstore

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/understudy-dev/understudy/pipeline/store"
	"github.com/understudy-dev/understudy/pipeline/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newStore(t, t.TempDir()) })
}

func newStore(t *testing.T, loc string) *Store {
	t.Helper()
	s, err := New(loc)
	if err != nil {
		t.Fatalf("New(%q): %v", loc, err)
	}
	return s
}

func TestNewLocations(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ loc, want string }{
		{dir, dir},
		{dir + "/", dir},
		{"file://" + dir, dir},
		{"file://localhost" + dir, dir},
		{"file://" + dir + "/with%20space", dir + "/with space"},
	} {
		if got := newStore(t, tc.loc).String(); got != tc.want {
			t.Errorf("New(%q).String() = %q, want %q", tc.loc, got, tc.want)
		}
	}
	wd, _ := os.Getwd()
	if got := newStore(t, "rel/dir").String(); got != filepath.Join(wd, "rel/dir") {
		t.Errorf("relative path: String() = %q, want it made absolute", got)
	}
	for _, loc := range []string{"", "file://otherhost/x", "file:relative", "file:///x?y=1"} {
		if _, err := New(loc); err == nil {
			t.Errorf("New(%q) succeeded; want an error", loc)
		}
	}
}

// TestNothingLeftBehind: the temporary files that List hides are really gone after Close
// and Abort, and Create makes the directories it needs.
func TestNothingLeftBehind(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, filepath.Join(dir, "snap"))
	ctx := context.Background()

	w, err := s.Create(ctx, "data/t/part-0.parquet")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "aborted")
	if got := files(t, dir); len(got) != 1 || !strings.Contains(got[0], "/.tmp-part-0.parquet-") {
		t.Errorf("while writing, files = %v; want one temporary file beside the target", got)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("after Abort, files = %v; want none", got)
	}

	w, err = s.Create(ctx, "data/t/part-0.parquet")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "kept")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := files(t, dir); len(got) != 1 || got[0] != "snap/data/t/part-0.parquet" {
		t.Errorf("after Close, files = %v; want [snap/data/t/part-0.parquet]", got)
	}
}

// Deleting a location's last objects leaves no empty folders behind (as on S3, where a
// prefix exists only while it holds an object): a refused or cleaned-up run leaves the
// directory as it found it. Folders that still hold something, and the root, stay.
func TestDeleteLeavesNoEmptyFolders(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	ctx := context.Background()
	for _, name := range []string{"_lock/1.json", "_progress/run/a.json", "_progress/run/b.json"} {
		w, err := s.Create(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, "{}")
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"_lock/1.json", "_progress/run/a.json"} {
		if err := s.Delete(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "_lock")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("_lock/ is still there after its last object went: %v", err)
	}
	if got := files(t, dir); len(got) != 1 || !strings.HasSuffix(got[0], "_progress/run/b.json") {
		t.Errorf("files = %v; want only _progress/run/b.json", got)
	}
	if err := s.Delete(ctx, "_progress/run/b.json"); err != nil {
		t.Fatal(err)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Errorf("the root holds %v (%v); want it empty and still there", entries, err)
	}
}

// TestWriteErrorNamesPath makes the kernel refuse a write: RLIMIT_FSIZE turns a write past
// the limit into EFBIG, as a full disk turns it into ENOSPC. The message must say which file,
// Close must not publish the part written, and Abort must clean up.
// It changes a process-wide limit, so it is not parallel (and the package's parallel tests
// run only after it).
func TestWriteErrorNamesPath(t *testing.T) {
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Skipf("getrlimit: %v", err)
	}
	lim := old
	lim.Cur = 1 << 20
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Skipf("setrlimit: %v", err)
	}
	defer syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old)

	dir := t.TempDir()
	s := newStore(t, dir)
	w, err := s.Create(context.Background(), "big/file.parquet")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	var werr error
	for range 32 { // 2 MiB, twice the limit
		if _, werr = w.Write(buf); werr != nil {
			break
		}
	}
	syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old)
	if werr == nil {
		t.Fatal("writing past RLIMIT_FSIZE succeeded")
	}
	t.Log(werr)
	target := filepath.Join(dir, "big", "file.parquet")
	if !strings.Contains(werr.Error(), target) || !errors.Is(werr, syscall.EFBIG) {
		t.Errorf("write error %q: want it to name %s and be EFBIG", werr, target)
	}
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), target) {
		t.Errorf("Close after a failed write = %v; want the write error", err)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("Abort: %v", err)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("after the failed write, files = %v; want none", got)
	}
	if _, err := s.Open(context.Background(), "big/file.parquet"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open after the failed write: %v; want fs.ErrNotExist", err)
	}
}

// TestReadOnlyDirectory: a directory we may not write to fails Create with its path. Root
// may write anywhere, so as root (CI runs as root) the test runs itself again in a child
// process as an unprivileged user, where the directory's permissions hold.
func TestReadOnlyDirectory(t *testing.T) {
	if os.Geteuid() == 0 {
		runUnprivileged(t, "TestReadOnlyDirectory")
		return
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o755)
	s := newStore(t, dir)
	_, err := s.Create(context.Background(), "x/y")
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "x", "y")) || !errors.Is(err, fs.ErrPermission) {
		t.Errorf("Create in a read-only directory = %v; want a permission error naming the path", err)
	}
}

// unprivilegedID is the user and group a root test runs its child as: nobody and nogroup.
const unprivilegedID = 65534

// runUnprivileged runs test (a test of this package) in a copy of the test binary as an
// unprivileged user, and fails t unless it ran and passed there. The binary is copied to a
// directory that user may read, since go test builds it in one only root may enter.
func runUnprivileged(t *testing.T, test string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	// Not t.TempDir: its parent is private to root.
	dir, err := os.MkdirTemp("", "dirstore-unprivileged-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	copied := filepath.Join(dir, "dirstore.test")
	if err := os.WriteFile(copied, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	// The child's temporary directories go in one of its own: TMPDIR may be private to root.
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(tmp, unprivilegedID, unprivilegedID); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(copied, "-test.run=^"+test+"$", "-test.v", "-test.count=1")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp, "HOME="+tmp)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: unprivilegedID, Gid: unprivilegedID}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+test) {
		t.Fatalf("%s as uid %d: %v\n%s", test, unprivilegedID, err, out)
	}
	t.Logf("ran as uid %d:\n%s", unprivilegedID, out)
}

// files lists every file under dir, hidden or not, relative and slash-separated.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Delete removes a folder with its last object while another writer may be creating an object
// in the same folder: the writer must never fail for it (a part deleted after a failed attempt
// while another unit of the table writes its first part; a lock released while another run
// takes one).
func TestCreateSurvivesTheFolderGoingAway(t *testing.T) {
	s := newStore(t, t.TempDir())
	ctx := context.Background()
	put := func(name string) error {
		w, err := s.Create(ctx, name)
		if err != nil {
			return err
		}
		io.WriteString(w, "x")
		return w.Close()
	}
	done := make(chan error, 2)
	for _, name := range []string{"data/t/a", "data/t/b"} {
		go func() {
			for i := 0; i < 400; i++ {
				if err := put(name); err != nil {
					done <- err
					return
				}
				if err := s.Delete(ctx, name); err != nil {
					done <- err
					return
				}
				if i%2 == 0 {
					if err := s.CreateExclusive(ctx, name+".lock", []byte("l")); err != nil {
						done <- err
						return
					}
					if err := s.Delete(ctx, name+".lock"); err != nil {
						done <- err
						return
					}
				}
			}
			done <- nil
		}()
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatalf("a write beside a delete failed: %v", err)
		}
	}
}
