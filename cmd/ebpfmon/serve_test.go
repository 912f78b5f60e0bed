package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ebpfmon/ebpfmon/exporter"
)

// TestLoadInterruptible: a signal ends the wait for a load at once, even
// when the load is stuck (in the kernel, in a library); a load that ends
// first returns its result.
func TestLoadInterruptible(t *testing.T) {
	t.Run("stuck load", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		stuck, released := make(chan struct{}), make(chan struct{})
		defer close(stuck)
		started := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			_, err := loadInterruptible(ctx, func(context.Context) (*exporter.Exporter, error) {
				close(started)
				<-stuck
				close(released)
				return nil, nil
			})
			done <- err
		}()
		<-started
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, errInterrupted) {
				t.Errorf("err = %v, want errInterrupted", err)
			}
		case <-time.After(bound):
			t.Fatalf("still waiting for the stuck load %s after the signal", bound)
		}
		select {
		case <-released:
			t.Error("returned only once the load ended")
		default:
		}
	})
	t.Run("load ends first", func(t *testing.T) {
		want := errors.New("config x failed")
		_, err := loadInterruptible(context.Background(), func(context.Context) (*exporter.Exporter, error) { return nil, want })
		if !errors.Is(err, want) {
			t.Errorf("err = %v, want %v", err, want)
		}
	})
}
