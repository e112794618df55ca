package main

import (
	"context"
	"testing"
	"time"

	"example.com/acme/unitopts/internal/daemon"
)

// The runtime finds service's hooks when it runs; these lines turn a
// mistyped signature into a compile error. Remove one with its method, and
// add one when you add a hook: daemon.Commander for Commands, daemon.Environer
// for Environ.
var (
	_ daemon.Initializer = (*service)(nil)
	_ daemon.Reloader    = (*service)(nil)
	_ daemon.FlagDefiner = (*service)(nil)
)

// TestServeReturnsWhenCancelled checks what `unitopts stop` relies on: Serve
// returns, without error, once its context is cancelled.
func TestServeReturnsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := new(service)
	if err := s.Init(ctx); err != nil {
		t.Fatalf("Init: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve returned %v after its context was cancelled, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return within 10s of its context being cancelled")
	}
}
