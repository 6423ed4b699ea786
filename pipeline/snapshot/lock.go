package snapshot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/understudy-dev/understudy/pipeline/store"
)

// A snapshot run holds its location's lock from before it writes anything until it ends, so
// that two runs on one location never both proceed.
//
// The lock is the object _lock/<generation>.json with the highest generation. A run takes it
// by creating the next generation with store.CreateExclusive, which only one caller can win.
// While it runs it rewrites its lock every LockRefresh (the heartbeat); a lock not rewritten
// for LockStaleAfter, or whose process is gone (same host and PID namespace, no such PID), is
// stale. A stale lock is taken over only by a run that asked to finish or replace what the
// dead run left (snapshot --resume or --replace), by creating the generation after it: of two
// such runs at once, one wins. A run whose lock was taken over (it stalled for longer than
// LockStaleAfter) notices at its next heartbeat, and before it writes the manifest, and stops.
const (
	LockRefresh    = 30 * time.Second
	LockStaleAfter = 3 * time.Minute
	lockDir        = "_lock/"
	lockCleanup    = time.Minute
)

// refreshEvery is LockRefresh, shortened by tests.
var refreshEvery = LockRefresh

// LockInfo is what a lock records about the run that holds it. It names no secret.
type LockInfo struct {
	Run       string    `json:"run"` // a random id of the run
	Command   string    `json:"command"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	PIDNS     string    `json:"pid_namespace,omitempty"` // Linux: the PID namespace, so a PID is only judged where it means the same process
	Started   time.Time `json:"started"`
	Refreshed time.Time `json:"refreshed"`
}

func (i LockInfo) String() string {
	if i.Run == "" {
		return "a run whose lock cannot be read"
	}
	return fmt.Sprintf("%s run %s on host %s, pid %d, started %s, last seen %s", i.Command, i.Run, i.Host, i.PID,
		i.Started.UTC().Format(time.RFC3339), i.Refreshed.UTC().Format(time.RFC3339))
}

// stale reports whether the run holding the lock is gone: no heartbeat for LockStaleAfter, or
// its process no longer exists on this host. An unreadable lock is stale: a live run's lock
// is always whole.
func (i LockInfo) stale(now time.Time) bool {
	if i.Run == "" || now.Sub(i.Refreshed) > LockStaleAfter {
		return true
	}
	me := newLockInfo("", time.Time{})
	if i.Host == me.Host && i.PIDNS != "" && i.PIDNS == me.PIDNS && i.PID > 0 {
		return errors.Is(syscall.Kill(i.PID, 0), syscall.ESRCH)
	}
	return false
}

func newLockInfo(command string, started time.Time) LockInfo {
	host, _ := os.Hostname()
	ns, _ := os.Readlink("/proc/self/ns/pid")
	id := make([]byte, 8)
	rand.Read(id)
	return LockInfo{Run: hex.EncodeToString(id), Command: command, Host: host, PID: os.Getpid(), PIDNS: ns,
		Started: started.UTC(), Refreshed: time.Now().UTC()}
}

// LockedError says another run holds the location, or held it and is gone (Stale).
type LockedError struct {
	Location string
	Holder   LockInfo
	Stale    bool
}

func (e *LockedError) Error() string {
	if e.Stale {
		return fmt.Sprintf("%s is held by another snapshot run that is gone (%s)", e.Location, e.Holder)
	}
	return fmt.Sprintf("%s is held by another snapshot run (%s)", e.Location, e.Holder)
}

// LostLockError says the run's lock was taken over while it ran.
type LostLockError struct {
	Location string
	By       LockInfo
}

func (e *LostLockError) Error() string {
	return fmt.Sprintf("%s: this run's lock was taken over by %s (this run stalled for longer than %s)", e.Location, e.By, LockStaleAfter)
}

// LockOptions configure Acquire.
type LockOptions struct {
	Command string
	Started time.Time
	// TakeOver lets the run take a stale lock (--resume, --replace).
	TakeOver bool
	// OnLost is called, once, from the heartbeat when the lock was taken over.
	OnLost func(error)
	// OnError is called when a heartbeat could not be written (the lock may go stale).
	OnError func(error)
}

// Lock is a held lock.
type Lock struct {
	s       store.Store
	gen     int
	info    LockInfo
	older   []int // stale generations this run took over; deleted on Release
	stop    chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	lost    error
	release sync.Once
}

// Run is the id of the run holding the lock.
func (l *Lock) Run() string { return l.info.Run }

func lockName(gen int) string { return fmt.Sprintf("%s%010d.json", lockDir, gen) }

// lockGens lists the generations present, ascending.
func lockGens(ctx context.Context, s store.Store) ([]int, error) {
	objs, err := s.List(ctx, lockDir)
	if err != nil {
		return nil, err
	}
	var gens []int
	for _, o := range objs {
		if !lockPattern.MatchString(o.Name) {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(o.Name, lockDir), ".json"))
		if err == nil {
			gens = append(gens, n)
		}
	}
	return gens, nil
}

func readLock(ctx context.Context, s store.Store, gen int) (LockInfo, error) {
	r, err := s.Open(ctx, lockName(gen))
	if err != nil {
		return LockInfo{}, err
	}
	defer r.Close()
	var info LockInfo
	data, err := io.ReadAll(io.LimitReader(r, 1<<16))
	if err != nil {
		return LockInfo{}, err
	}
	if json.Unmarshal(data, &info) != nil {
		return LockInfo{}, nil // unreadable: judged stale
	}
	return info, nil
}

// AcquireLock takes the lock of the location s, or says who holds it (*LockedError).
func AcquireLock(ctx context.Context, s store.Store, o LockOptions) (*Lock, error) {
	info := newLockInfo(o.Command, o.Started)
	for range 10 {
		gens, err := lockGens(ctx, s)
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", s, err)
		}
		top := 0
		if len(gens) > 0 {
			top = gens[len(gens)-1]
			holder, err := readLock(ctx, s, top)
			if errors.Is(err, fs.ErrNotExist) {
				continue // released meanwhile
			}
			if err != nil {
				return nil, fmt.Errorf("lock %s: %w", s, err)
			}
			switch {
			case holder.Run == info.Run:
				// Our own create, whose answer was lost and whose retry found it there.
				return startLock(s, top, info, gens[:len(gens)-1], o), nil
			case !holder.stale(time.Now()):
				return nil, &LockedError{Location: s.String(), Holder: holder}
			case !o.TakeOver:
				return nil, &LockedError{Location: s.String(), Holder: holder, Stale: true}
			}
		}
		data, _ := json.Marshal(info)
		err = s.CreateExclusive(ctx, lockName(top+1), data)
		if errors.Is(err, fs.ErrExist) {
			continue // another run took this generation first: look again
		}
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", s, err)
		}
		return startLock(s, top+1, info, gens, o), nil
	}
	return nil, fmt.Errorf("lock %s: its lock changed hands ten times while this run tried to take it", s)
}

func startLock(s store.Store, gen int, info LockInfo, older []int, o LockOptions) *Lock {
	l := &Lock{s: s, gen: gen, info: info, older: older, stop: make(chan struct{}), done: make(chan struct{})}
	go l.heartbeat(o)
	return l
}

// heartbeat rewrites the lock every LockRefresh, after checking that it is still ours.
func (l *Lock) heartbeat(o LockOptions) {
	defer close(l.done)
	t := time.NewTicker(refreshEvery)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), LockRefresh)
		err := l.Check(ctx)
		var lost *LostLockError
		if errors.As(err, &lost) {
			cancel()
			if o.OnLost != nil {
				o.OnLost(err)
			}
			return
		}
		if err == nil {
			info := l.info
			info.Refreshed = time.Now().UTC()
			data, _ := json.Marshal(info)
			_, err = WriteFile(ctx, l.s, lockName(l.gen), data)
		}
		cancel()
		if err != nil && o.OnError != nil {
			o.OnError(err)
		}
	}
}

// Check says whether the lock is still this run's: nil, a *LostLockError, or the error of
// looking.
func (l *Lock) Check(ctx context.Context) error {
	l.mu.Lock()
	lost := l.lost
	l.mu.Unlock()
	if lost != nil {
		return lost
	}
	gens, err := lockGens(ctx, l.s)
	if err != nil {
		return fmt.Errorf("lock %s: %w", l.s, err)
	}
	// The generation alone does not say: after a takeover and a release, a later run may
	// create this generation again. The run id does.
	var top LockInfo
	if len(gens) > 0 {
		top, err = readLock(ctx, l.s, gens[len(gens)-1])
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("lock %s: %w", l.s, err)
		}
		if gens[len(gens)-1] == l.gen && top.Run == l.info.Run {
			return nil
		}
	}
	err = &LostLockError{Location: l.s.String(), By: top}
	l.mu.Lock()
	l.lost = err
	l.mu.Unlock()
	return err
}

// Release stops the heartbeat and deletes the lock, and the stale ones this run took over,
// unless the lock was lost (then the run that took it over owns them). It is safe to call
// more than once.
func (l *Lock) Release(ctx context.Context) error {
	var err error
	l.release.Do(func() {
		close(l.stop)
		<-l.done
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lockCleanup)
		defer cancel()
		if err = l.Check(ctx); err != nil {
			return
		}
		for _, g := range append(l.older, l.gen) {
			if e := l.s.Delete(ctx, lockName(g)); e != nil && err == nil {
				err = e
			}
		}
	})
	return err
}
