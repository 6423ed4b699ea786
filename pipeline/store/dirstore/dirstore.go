// Package dirstore is a store.Store over a local directory: the snapshot written to disk or a
// mounted volume.
//
// A Create writes a temporary file beside its target (".tmp-<name>-<random>", never listed),
// and Close fsyncs it, renames it into place and fsyncs the directory, so a crash leaves the
// old file or the new one, never a part. Directories are created as needed and never removed.
//
// It is not a general file tree: only regular files are objects, and names must be clean
// slash-separated paths inside the directory (no "..", no leading slash).
package dirstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/understudy-dev/understudy/pipeline/store"
)

// tempPrefix starts the name of every file being written. List hides such files and Create
// refuses names that would collide with them.
const tempPrefix = ".tmp-"

// Store is a directory. It is safe for concurrent use.
type Store struct {
	root string // absolute, cleaned, OS-specific separators
}

var (
	_ store.Store  = (*Store)(nil)
	_ store.Writer = (*writer)(nil)
)

// New returns the store at loc: a path (relative paths are made absolute) or a
// file:///absolute/path URL. The directory need not exist; Create makes it.
func New(loc string) (*Store, error) {
	p := loc
	if strings.HasPrefix(loc, "file:") {
		u, err := url.Parse(loc)
		if err != nil {
			return nil, fmt.Errorf("dirstore: location %q: %w", loc, err)
		}
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("dirstore: location %q: a file URL names a local path (file:///path), not host %q", loc, u.Host)
		}
		if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, fmt.Errorf("dirstore: location %q: a file URL takes only a path", loc)
		}
		if u.Path == "" || !strings.HasPrefix(u.Path, "/") {
			return nil, fmt.Errorf("dirstore: location %q: a file URL needs an absolute path (file:///path)", loc)
		}
		p = filepath.FromSlash(u.Path)
	}
	if p == "" {
		return nil, errors.New("dirstore: empty location")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, fmt.Errorf("dirstore: location %q: %w", loc, err)
	}
	return &Store{root: abs}, nil
}

// String returns the directory's absolute path.
func (s *Store) String() string { return s.root }

// Create implements store.Store.
func (s *Store) Create(_ context.Context, name string) (store.Writer, error) {
	target, err := s.path(name)
	if err != nil {
		return nil, err
	}
	f, err := tempBeside(target)
	if err != nil {
		return nil, fmt.Errorf("dirstore: create %s: %w", target, unwrapPath(err))
	}
	return &writer{f: f, target: target}, nil
}

// tempBeside creates a temporary file in target's folder, making the folder first. A Delete
// of the folder's last object removes the folder (see Delete) and may do so between the two
// steps: then the folder is made again. Once the temporary file is in it, the folder holds
// something and stays.
func tempBeside(target string) (f *os.File, err error) {
	dir := filepath.Dir(target)
	for try := 0; try < 10; try++ {
		if err = os.MkdirAll(dir, 0o755); err == nil {
			f, err = os.CreateTemp(dir, tempPrefix+filepath.Base(target)+"-*")
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return f, err
		}
	}
	return nil, err
}

// Open implements store.Store. A directory is not an object: opening one is fs.ErrNotExist.
func (s *Store) Open(_ context.Context, name string) (io.ReadCloser, error) {
	p, err := s.path(name)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, syscall.ENOTDIR) {
		return nil, fmt.Errorf("dirstore: open %s: a parent is a file (%w)", p, fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("dirstore: open %s: %w", p, unwrapPath(err))
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("dirstore: open %s: %w", p, unwrapPath(err))
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("dirstore: open %s: not a regular file: %w", p, fs.ErrNotExist)
	}
	return f, nil
}

// List implements store.Store. It walks only the directory the prefix points into.
func (s *Store) List(_ context.Context, prefix string) ([]store.Object, error) {
	start := s.root
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		start = filepath.Join(s.root, filepath.FromSlash(prefix[:i]))
	}
	if !strings.HasPrefix(start+string(filepath.Separator), s.root+string(filepath.Separator)) {
		return nil, fmt.Errorf("dirstore: list %s: prefix %q leaves the directory", s.root, prefix)
	}
	var objs []store.Object
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == start && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll // nothing written here yet
			}
			return err
		}
		if p == start {
			return nil
		}
		rel, err := filepath.Rel(s.root, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		if d.IsDir() {
			if !strings.HasPrefix(name+"/", prefix) {
				return fs.SkipDir // nothing below can match
			}
			return nil
		}
		if strings.HasPrefix(d.Name(), tempPrefix) || !d.Type().IsRegular() || !strings.HasPrefix(name, prefix) {
			return nil
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted while we walked
		}
		if err != nil {
			return err
		}
		objs = append(objs, store.Object{Name: name, Size: info.Size()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dirstore: list %s (prefix %q): %w", s.root, prefix, err)
	}
	// The walk is in per-directory order ("a/b" before "a-b"); the contract is by full name.
	sort.Slice(objs, func(i, j int) bool { return objs[i].Name < objs[j].Name })
	return objs, nil
}

// Delete implements store.Store.
func (s *Store) Delete(_ context.Context, name string) error {
	p, err := s.path(name)
	if err != nil {
		return err
	}
	// ENOTDIR: a parent is a file, so there is no such object either.
	if err := os.Remove(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil
		}
		return fmt.Errorf("dirstore: delete %s: %w", p, unwrapPath(err))
	}
	// As on S3, a folder exists only while it holds an object: the folders the object's name
	// made go with its last object, up to the store's root, which stays. rmdir(2) removes only
	// an empty directory, never a file or a folder that holds anything.
	for dir := filepath.Dir(p); strings.HasPrefix(dir, s.root+string(filepath.Separator)); dir = filepath.Dir(dir) {
		if syscall.Rmdir(dir) != nil {
			break
		}
	}
	return nil
}

// CreateExclusive implements store.Store: the data goes into a temporary file, fsynced, which
// is then hard-linked to the name. link(2) fails with EEXIST when the name exists, atomically
// on a local filesystem and on NFS alike, and the object appears whole. A filesystem without
// hard links gets an O_EXCL create instead: still exclusive, but briefly visible while being
// written.
func (s *Store) CreateExclusive(_ context.Context, name string, data []byte) error {
	target, err := s.path(name)
	if err != nil {
		return err
	}
	dir := filepath.Dir(target)
	f, err := tempBeside(target)
	if err != nil {
		return fmt.Errorf("dirstore: create %s: %w", target, unwrapPath(err))
	}
	defer os.Remove(f.Name())
	err = writeSynced(f, data)
	if err != nil {
		return fmt.Errorf("dirstore: write %s: %w", target, unwrapPath(err))
	}
	err = os.Link(f.Name(), target)
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.EXDEV) {
		err = createExcl(target, data)
	}
	if err != nil {
		return fmt.Errorf("dirstore: create %s exclusively: %w", target, unwrapPath(err))
	}
	if e := syncDir(dir); e != nil {
		return fmt.Errorf("dirstore: write %s: fsync directory: %w", target, e)
	}
	return nil
}

// writeSynced writes data to f, fsyncs and closes it, and returns the first error.
func writeSynced(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if e := f.Close(); err == nil {
		err = e
	}
	return err
}

// createExcl writes data into a new file, failing if it exists.
func createExcl(target string, data []byte) error {
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	err = writeSynced(f, data)
	if err != nil {
		os.Remove(target)
	}
	return err
}

// path checks name and returns its file path.
func (s *Store) path(name string) (string, error) {
	if err := checkName(name); err != nil {
		return "", fmt.Errorf("dirstore: %s: %w", s.root, err)
	}
	return filepath.Join(s.root, filepath.FromSlash(name)), nil
}

// checkName refuses names that are not clean relative paths, or that List would hide.
func checkName(name string) error {
	if err := store.CheckName(name); err != nil {
		return err
	}
	for _, elem := range strings.Split(name, "/") {
		if strings.HasPrefix(elem, tempPrefix) {
			return fmt.Errorf("invalid object name %q: %q starts temporary files", name, tempPrefix)
		}
	}
	return nil
}

// writer is a temporary file renamed into place by Close.
type writer struct {
	f      *os.File
	target string
	err    error // first write error: the file is incomplete and must never be renamed
	done   bool
}

func (w *writer) Write(p []byte) (int, error) {
	if w.done {
		return 0, fmt.Errorf("dirstore: write %s: %w", w.target, os.ErrClosed)
	}
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.f.Write(p)
	if err != nil {
		w.err = fmt.Errorf("dirstore: write %s: %w", w.target, unwrapPath(err))
		return n, w.err
	}
	return n, nil
}

// Close fsyncs the file, renames it over the target and fsyncs the directory, so that the
// rename survives a crash. On any error the temporary file is removed.
func (w *writer) Close() error {
	if w.done {
		return fmt.Errorf("dirstore: close %s: %w", w.target, os.ErrClosed)
	}
	w.done = true
	err := w.err
	if err == nil {
		if e := w.f.Sync(); e != nil {
			err = fmt.Errorf("dirstore: write %s: fsync: %w", w.target, unwrapPath(e))
		}
	}
	if e := w.f.Close(); e != nil && err == nil {
		err = fmt.Errorf("dirstore: write %s: close: %w", w.target, unwrapPath(e))
	}
	if err == nil {
		if e := os.Rename(w.f.Name(), w.target); e != nil {
			err = fmt.Errorf("dirstore: write %s: rename: %w", w.target, unwrapPath(e))
		}
	}
	if err != nil {
		os.Remove(w.f.Name())
		return err
	}
	if e := syncDir(filepath.Dir(w.target)); e != nil {
		return fmt.Errorf("dirstore: write %s: fsync directory: %w", w.target, e)
	}
	return nil
}

// Abort removes the temporary file. After a successful Close it does nothing, so that
// "defer w.Abort()" is safe.
func (w *writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.f.Close() // its error does not matter: the file is going
	if err := os.Remove(w.f.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("dirstore: abort %s: %w", w.target, unwrapPath(err))
	}
	return nil
}

// syncDir makes a rename in dir durable. Filesystems that cannot fsync a directory say so
// with EINVAL or ENOTSUP; there is nothing more to do on those.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return unwrapPath(err)
	}
	err = d.Sync()
	d.Close()
	if err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return unwrapPath(err)
	}
	return nil
}

// unwrapPath drops an *fs.PathError's own path (often the temporary file's), since every
// message here names the object's path already. errors.Is still sees the cause.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}
