package snapshot

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/pipeline/store/dirstore"
)

// The lock's life: taken, refused to a second taker, kept fresh by the heartbeat, lost to a
// run that took it over (the holder is told, and leaves the taker's lock alone), released.
// Not parallel: it shortens the heartbeat.
func TestLockLifecycle(t *testing.T) {
	old := refreshEvery
	refreshEvery = 20 * time.Millisecond
	defer func() { refreshEvery = old }()
	ctx := context.Background()
	s, err := dirstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	lost := make(chan error, 1)
	a, err := AcquireLock(ctx, s, LockOptions{Command: "snapshot", Started: time.Now(), OnLost: func(err error) { lost <- err }})
	if err != nil {
		t.Fatal(err)
	}
	var le *LockedError
	if _, err := AcquireLock(ctx, s, LockOptions{Command: "snapshot", TakeOver: true}); !errors.As(err, &le) || le.Stale || le.Holder.Run != a.Run() {
		t.Fatalf("a second AcquireLock of a live lock = %v; want it refused, naming %s", err, a.Run())
	}
	first, _ := readLock(ctx, s, 1)
	time.Sleep(100 * time.Millisecond)
	if again, _ := readLock(ctx, s, 1); !again.Refreshed.After(first.Refreshed) {
		t.Errorf("the heartbeat did not refresh the lock: %v, then %v", first.Refreshed, again.Refreshed)
	}

	taker := LockInfo{Run: "taker", Command: "snapshot", Host: "elsewhere", Started: time.Now(), Refreshed: time.Now()}
	data, _ := json.Marshal(taker)
	if err := s.CreateExclusive(ctx, lockName(2), data); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-lost:
		var ll *LostLockError
		if !errors.As(err, &ll) || ll.By.Run != "taker" {
			t.Errorf("OnLost(%v); want a LostLockError naming the taker", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the holder was not told its lock was taken over")
	}
	if err := a.Check(ctx); err == nil {
		t.Error("Check after a takeover = nil")
	}
	a.Release(ctx)
	if _, err := readLock(ctx, s, 2); err != nil {
		t.Errorf("the holder's Release deleted the taker's lock: %v", err)
	}

	// The taker's lock is live; once its heartbeat is an hour old it is stale, and only a
	// taker that asked for it (--resume, --replace) takes it over, then releases all of it.
	s.Delete(ctx, lockName(2))
	taker.Refreshed = time.Now().Add(-time.Hour)
	data, _ = json.Marshal(taker)
	s.CreateExclusive(ctx, lockName(2), data)
	if _, err := AcquireLock(ctx, s, LockOptions{Command: "snapshot"}); !errors.As(err, &le) || !le.Stale {
		t.Fatalf("AcquireLock of a stale lock without TakeOver = %v; want it refused as stale", err)
	}
	b, err := AcquireLock(ctx, s, LockOptions{Command: "snapshot", TakeOver: true})
	if err != nil {
		t.Fatalf("AcquireLock with TakeOver of a stale lock: %v", err)
	}
	if err := b.Release(ctx); err != nil {
		t.Fatal(err)
	}
	for _, g := range []int{1, 2, 3} {
		if _, err := readLock(ctx, s, g); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("after Release, lock generation %d: %v; want it gone", g, err)
		}
	}
}
